// GeoTIFF writing: geotiff.js's own writer (writeArrayBuffer) against diffusekit's encodeImage (format 'geotiff'), on
// the rasters our users write: an RGB aerial picture, 4-band 16-bit multispectral, a signed 16-bit grid (elevation, CT)
// and float32 with NaN nodata. Each file is read back with geotiff.js (the library both are checked against): are the
// samples, the georeference and nodata what was written? Seconds: median of 3 writes.
// Usage: node bench/tiff-writers.mjs [--size 1024]
import { encodeImage } from '@diffusekit/core';
import { fromArrayBuffer, writeArrayBuffer } from 'geotiff';
import { arg, fmt, median, mirroredSample, table } from './lib.mjs';

const size = Number(arg('size', '1024'));
const picture = await mirroredSample(size);
const plane = size * size;
// An aerial scene in UTM 32N, 0.5 m pixels (the transform is GDAL order: originX, pixel width, 0, originY, 0, -height).
const geo = { transform: [500000, 0.5, 0, 5600000, 0, -0.5], epsg: 32632 };

/** Derived rasters with the picture's structure, so that compression sees real image statistics. */
function derive(dtype, bands, map, nodata) {
  const Arr = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array, float32: Float32Array }[dtype];
  const data = new Arr(bands * plane);
  for (let b = 0; b < bands; b++) for (let i = 0; i < plane; i++) data[b * plane + i] = map(picture.data[(b % 3) * plane + i], b, i);
  return { width: size, height: size, bands, dtype, data, geo, ...(nodata !== undefined && { nodata }) };
}
const cases = [
  ['RGB uint8 (aerial picture)', { ...picture, geo }],
  ['4 bands uint16 (multispectral)', derive('uint16', 4, (v, b) => v * 200 + b * 17)],
  ['1 band int16 (elevation, CT)', derive('int16', 1, (v) => (v - 128) * 120)],
  ['1 band float32, NaN nodata', derive('float32', 1, (v, _b, i) => (i % 97 === 0 ? NaN : v / 255 - 0.25), NaN)],
];

function interleaved(r) {
  const out = new r.data.constructor(r.bands * plane);
  for (let b = 0; b < r.bands; b++) for (let i = 0; i < plane; i++) out[i * r.bands + b] = r.data[b * plane + i];
  return out;
}

function writeWithGeotiffJs(r) {
  const [x0, dx, , y0, , dy] = r.geo.transform;
  return new Uint8Array(writeArrayBuffer(interleaved(r), {
    width: r.width, height: r.height,
    BitsPerSample: Array(r.bands).fill(r.data.BYTES_PER_ELEMENT * 8),
    ...(r.bands !== 3 && { PhotometricInterpretation: 1 }),
    ProjectedCSTypeGeoKey: r.geo.epsg, GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1,
    ModelPixelScale: [dx, -dy, 0], ModelTiepoint: [0, 0, 0, x0, y0, 0],
    ...(r.nodata !== undefined && { GDAL_NODATA: `${r.nodata}\0` }),
  }));
}

async function check(bytes, r) {
  try {
    const tiff = await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const image = await tiff.getImage();
    const back = await image.readRasters({ interleave: true });
    const want = interleaved(r);
    let same = back.length === want.length && back.constructor === want.constructor;
    for (let i = 0; same && i < want.length; i++) same = Object.is(back[i], want[i]) || back[i] === want[i];
    const [ox, oy] = image.getOrigin();
    const [rx, ry] = image.getResolution();
    const [x0, dx, , y0, , dy] = r.geo.transform;
    const geoOk = ox === x0 && oy === y0 && rx === dx && ry === dy && image.getGeoKeys()?.ProjectedCSTypeGeoKey === r.geo.epsg;
    const nd = image.getGDALNoData();
    const nodataOk = r.nodata === undefined ? nd === null : Object.is(nd, r.nodata);
    return { same, geoOk, nodataOk };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

const rows = [];
for (const [label, r] of cases) {
  for (const [writer, write] of [
    ['geotiff.js writeArrayBuffer', (x) => writeWithGeotiffJs(x)],
    ["diffusekit encodeImage (deflate)", (x) => encodeImage(x, { format: 'geotiff' })],
    ["diffusekit encodeImage (none)", (x) => encodeImage(x, { format: 'geotiff', compression: 'none' })],
  ]) {
    const seconds = [];
    let bytes;
    let failure;
    for (let k = 0; k < 3 && !failure; k++) {
      const t0 = performance.now();
      try {
        bytes = await write(r);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      seconds.push((performance.now() - t0) / 1000);
    }
    if (failure) {
      rows.push([label, writer, '–', '–', `write failed: ${failure.slice(0, 80)}`, '–', '–']);
      continue;
    }
    const c = await check(bytes, r);
    const yes = (v) => (v ? 'yes' : '**no**');
    rows.push(c.error
      ? [label, writer, fmt(median(seconds), 3), fmt(bytes.length / 2 ** 20, 2), `read failed: ${c.error.slice(0, 80)}`, '–', '–']
      : [label, writer, fmt(median(seconds), 3), fmt(bytes.length / 2 ** 20, 2), yes(c.same), yes(c.geoOk), yes(c.nodataOk)]);
  }
}

console.log(`### GeoTIFF writers: geotiff.js against diffusekit

${size}×${size} rasters derived from \`samples/aerial-town.png\` (mirrored to size), georeferenced in EPSG:32632 at
0.5 m; each written by geotiff.js 3's \`writeArrayBuffer\` (samples interleaved for it, the georeference and
GDAL_NODATA passed as its metadata) and by \`encodeImage(raster, { format: 'geotiff' })\`, then read back with
geotiff.js. "samples exact": every value (NaN included) and the sample type as written; "georeference": origin,
pixel size and EPSG code; "nodata": the GDAL_NODATA value.

${table(['raster', 'writer', 'write (s)', 'MiB', 'samples exact', 'georeference', 'nodata'], rows)}
`);
