import { fromArrayBuffer } from 'geotiff';
import { createRaster, cropRaster, decodeImage, encodeImage } from '@diffusekit/core';
import type { DType, GeoInfo, Raster } from '@diffusekit/core';
import { firstDifference, fixture, seededRandom } from '../../../test/fixtures/helpers.js';

async function decodeFixture(name: string): Promise<Raster> {
  const { raster, format } = await decodeImage(fixture(name));
  expect(format).toBe('geotiff');
  return raster;
}

/** An independent reader of the written file: geotiff.js's own view of keys, origin, resolution and nodata. */
async function inspectWithGeotiffJs(bytes: Uint8Array) {
  const copy = new Uint8Array(bytes);
  const image = await (await fromArrayBuffer(copy.buffer)).getImage();
  return { geoKeys: image.getGeoKeys(), origin: image.getOrigin(), resolution: image.getResolution(), nodata: image.getGDALNoData() };
}

function randomSamples(dtype: DType, length: number, seed: number) {
  const next = seededRandom(seed);
  if (dtype === 'uint8') return Uint8Array.from({ length }, () => Math.floor(next() * 256));
  if (dtype === 'uint16') return Uint16Array.from({ length }, () => Math.floor(next() * 65536));
  if (dtype === 'int16') return Int16Array.from({ length }, () => Math.floor(next() * 65536) - 32768);
  return Float32Array.from({ length }, () => (next() - 0.5) * 1e4);
}

describe('reading real GeoTIFFs', () => {
  it('keeps the SP27GTIF crop georeference: origin moved by the crop offset, pixel size, EPSG 26771 and the raw keys', async () => {
    const raster = await decodeFixture('sp27gtif-crop.tif');
    // The source tiepoint is (681480, 1913050) with 32.8 ft pixels; the crop starts at pixel (300, 420).
    expect(raster.geo?.transform).toEqual([681480 + 300 * 32.8, 32.8, 0, 1913050 - 420 * 32.8, 0, -32.8]);
    expect(raster.geo?.epsg).toBe(26771);
    expect(raster.geo?.geoKeys?.keys).toContainEqual({ id: 1026, type: 'ascii', value: 'State Plane NAD27, Feet' });
    expect(raster.geo?.geoKeys?.keys).toContainEqual({ id: 3072, type: 'short', values: [26771] });
  });

  it('keeps the six Landsat bands and their UTM 25S georeference', async () => {
    const raster = await decodeFixture('l7etm-crop.tif');
    expect(raster.bands).toBe(6);
    expect(raster.geo?.epsg).toBe(31985);
    const pixel = 28.49999999927454;
    expect(raster.geo?.transform).toEqual([288776.25000080315 + 150 * pixel, pixel, 0, 9120760.750028737 - 160 * pixel, 0, -pixel]);
    for (let band = 1; band < 6; band++) {
      const plane = raster.width * raster.height;
      expect(firstDifference(raster.data.subarray(0, plane), raster.data.subarray(band * plane, (band + 1) * plane))).not.toBe(-1);
    }
  });

  it('reads a ModelTransformation with PixelIsPoint the way GDAL does (origin at the corner of the first pixel)', async () => {
    const raster = await decodeFixture('geomatrix.tif');
    expect(raster.geo?.transform).toEqual([1841000 - 0.5 * (1.5 - 5), 1.5, -5, 1144000 - 0.5 * (-5 - 1.5), -5, -1.5]);
    expect(raster.geo?.epsg).toBe(32611);
  });

  it('reads float32 elevations and leaves a user-defined CRS without an EPSG code but with its keys', async () => {
    const raster = await decodeFixture('olinda-dem-crop.tif');
    expect(raster.dtype).toBe('float32');
    expect(raster.geo?.epsg).toBeUndefined();
    expect(raster.geo?.geoKeys?.keys.find((k) => k.id === 3074)).toEqual({ id: 3074, type: 'short', values: [16125] });
    expect(Math.min(...raster.data)).toBeGreaterThan(0);
  });
});

describe('writing GeoTIFF', () => {
  it.each(['sp27gtif-crop.tif', 'l7etm-crop.tif', 'olinda-dem-crop.tif', 'geomatrix.tif'])(
    'round-trips %s exactly: samples, transform, EPSG and every geo key, as geotiff.js also reads them',
    async (name) => {
      const original = await decodeFixture(name);
      const bytes = await encodeImage(original, { format: 'geotiff' });
      const again = (await decodeImage(bytes)).raster;
      expect(firstDifference(again.data, original.data)).toBe(-1);
      expect(again.bands).toBe(original.bands);
      expect(again.geo).toEqual(original.geo);
      const before = await inspectWithGeotiffJs(fixture(name));
      const after = await inspectWithGeotiffJs(bytes);
      expect(after.geoKeys).toEqual(before.geoKeys);
      expect(after.origin).toEqual(before.origin);
      expect(after.resolution).toEqual(before.resolution);
    },
  );

  it.each<[DType, number, number | undefined]>([
    ['uint8', 1, 255],
    ['uint16', 6, 0],
    ['int16', 2, -32768],
    ['float32', 3, -3.4028234663852886e38],
    ['float32', 1, NaN],
  ])('keeps %s with %d band(s), nodata %p and band names exactly, in both sample orders', async (dtype, bands, nodata) => {
    const width = 19;
    const height = 7;
    const data = randomSamples(dtype, width * height * bands, bands * 7 + dtype.length);
    if (nodata !== undefined) data[3] = nodata;
    const geo: GeoInfo = { transform: [500000, 10, 0, 4200000, 0, -10], epsg: 32633 };
    const bandNames = Array.from({ length: bands }, (_, b) => (b === 0 ? 'café <B1> & "x"' : `band ${b + 1}`));
    const raster = createRaster({ width, height, bands, dtype, data, nodata, geo, bandNames });
    for (const interleave of ['pixel', 'band'] as const) {
      const bytes = await encodeImage(raster, { format: 'geotiff', interleave });
      const { raster: back, format } = await decodeImage(bytes);
      expect(format).toBe('geotiff');
      expect(back.dtype).toBe(dtype);
      expect(firstDifference(back.data, raster.data)).toBe(-1);
      expect(back.nodata).toEqual(nodata);
      expect(back.bandNames).toEqual(bandNames);
      expect(back.geo?.transform).toEqual(geo.transform);
      expect(back.geo?.epsg).toBe(32633);
      const inspected = await inspectWithGeotiffJs(bytes);
      expect(inspected.nodata).toEqual(nodata);
      expect(inspected.geoKeys).toMatchObject({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 });
    }
  });

  it('describes a geographic EPSG code with GeographicTypeGeoKey', async () => {
    const raster = createRaster({ width: 2, height: 2, bands: 1, dtype: 'uint8', geo: { transform: [-180, 0.5, 0, 90, 0, -0.5], epsg: 4326 } });
    const bytes = await encodeImage(raster, { format: 'geotiff' });
    expect((await inspectWithGeotiffJs(bytes)).geoKeys).toMatchObject({ GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326 });
    expect((await decodeImage(bytes)).raster.geo?.epsg).toBe(4326);
  });

  it('replaces the original keys when the caller changes the EPSG code', async () => {
    const original = await decodeFixture('sp27gtif-crop.tif');
    const bytes = await encodeImage({ ...original, geo: { transform: original.geo!.transform, geoKeys: original.geo!.geoKeys!, epsg: 32616 } }, { format: 'geotiff' });
    const back = (await decodeImage(bytes)).raster;
    expect(back.geo?.epsg).toBe(32616);
    expect(back.geo?.geoKeys?.keys.some((k) => k.type === 'ascii')).toBe(false);
  });

  it('writes caller-made geo keys of every storage kind back exactly', async () => {
    const geoKeys = {
      version: 1,
      revision: 1,
      minorRevision: 1,
      keys: [
        { id: 1024, type: 'short' as const, values: [1] },
        { id: 1026, type: 'ascii' as const, value: 'first | with a bar' },
        { id: 2049, type: 'ascii' as const, value: 'second' },
        { id: 2062, type: 'double' as const, values: [1.5, -2.25, 0] },
        { id: 3072, type: 'short' as const, values: [32767] },
        { id: 3078, type: 'double' as const, values: [33.75] },
        { id: 4099, type: 'short' as const, values: [9001, 9002] },
      ],
    };
    const raster = createRaster({ width: 2, height: 2, bands: 1, dtype: 'uint8', geo: { transform: [10, 1, 0, 20, 0, -1], geoKeys } });
    const back = (await decodeImage(await encodeImage(raster, { format: 'geotiff' }))).raster;
    expect(back.geo?.geoKeys).toEqual(geoKeys);
    expect(back.geo?.epsg).toBeUndefined();
  });

  it('writes a rotated grid as a ModelTransformation and reads it back exactly', async () => {
    const transform: GeoInfo['transform'] = [1000.5, 2.25, 0.75, 2000.25, -0.5, -2.5];
    const raster = createRaster({ width: 3, height: 2, bands: 1, dtype: 'int16', geo: { transform, epsg: 32632 } });
    const back = (await decodeImage(await encodeImage(raster, { format: 'geotiff' }))).raster;
    expect(back.geo?.transform).toEqual(transform);
  });
});

describe('window reads', () => {
  it.each([
    ['l7etm-crop.tif', { x: 5, y: 7, width: 30, height: 20 }],
    ['sp27gtif-crop.tif', { x: 11, y: 13, width: 40, height: 41 }],
    ['olinda-dem-crop.tif', { x: 39, y: 31, width: 1, height: 1 }],
    ['photo.png', { x: 10, y: 20, width: 50, height: 30 }],
    ['gray16.png', { x: 0, y: 0, width: 96, height: 1 }],
    ['rgb16.tif', { x: 60, y: 2, width: 4, height: 45 }],
    ['photo.jpg', { x: 8, y: 8, width: 16, height: 16 }],
  ])('reading %s through window %j equals cropping the full read, georeference included', async (name, window) => {
    const full = (await decodeImage(fixture(name))).raster;
    const part = (await decodeImage(fixture(name), { window })).raster;
    const expected = cropRaster(full, window);
    expect(firstDifference(part.data, expected.data)).toBe(-1);
    expect({ width: part.width, height: part.height, bands: part.bands }).toEqual({ width: window.width, height: window.height, bands: full.bands });
    expect(part.geo).toEqual(expected.geo);
  });
});
