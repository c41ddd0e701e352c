import { IMAGE_FORMATS } from '../codecs/types.js';
import { DiffusekitError, describeValue } from '../errors.js';
import { allocateSamples, arrayNameFor, DTYPES, isDataOfDType, isDType, isRepresentable, typedArrayKind } from './dtype.js';
import type { GeoInfo, GeoKeyDirectory, Raster, RasterData } from './types.js';

/** Everything a Raster has; `data` may be left out to get zero-filled samples. */
export type RasterSpec = Omit<Raster, 'data'> & { data?: RasterData };

function invalidRaster(field: string, expected: string, received: unknown): DiffusekitError {
  return new DiffusekitError('INVALID_RASTER', `Expected ${expected} for raster.${field} but received ${describeValue(received)}`, {
    details: { field, expected },
  });
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function checkGeoKeys(geoKeys: unknown): asserts geoKeys is GeoKeyDirectory {
  const directory = geoKeys as Partial<GeoKeyDirectory> | null;
  if (typeof directory !== 'object' || directory === null || !Array.isArray(directory.keys)) {
    throw invalidRaster('geo.geoKeys', 'an object { version, revision, minorRevision, keys: GeoKey[] }', geoKeys);
  }
  for (const key of directory.keys) {
    const ok =
      typeof key === 'object' &&
      key !== null &&
      Number.isInteger(key.id) &&
      ((key.type === 'ascii' && typeof key.value === 'string') ||
        ((key.type === 'short' || key.type === 'double') && Array.isArray(key.values) && key.values.every((v) => typeof v === 'number')));
    if (!ok) throw invalidRaster('geo.geoKeys.keys[]', "{ id, type: 'short' | 'double', values: number[] } or { id, type: 'ascii', value: string }", key);
  }
}

export function checkGeoInfo(geo: unknown): asserts geo is GeoInfo {
  const info = geo as Partial<GeoInfo> | null;
  if (typeof info !== 'object' || info === null) throw invalidRaster('geo', 'an object with a 6-number transform', geo);
  const transform = info.transform;
  if (!Array.isArray(transform) || transform.length !== 6 || !transform.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidRaster('geo.transform', 'an array of 6 finite numbers (GDAL order)', transform);
  }
  if (info.epsg !== undefined && !isPositiveInteger(info.epsg)) throw invalidRaster('geo.epsg', 'a positive integer EPSG code', info.epsg);
  if (info.wkt !== undefined && typeof info.wkt !== 'string') throw invalidRaster('geo.wkt', 'a string', info.wkt);
  if (info.geoKeys !== undefined) checkGeoKeys(info.geoKeys);
}

/** Validates a raster's fields; throws INVALID_RASTER naming the first bad field and what is accepted. */
export function checkRaster(raster: unknown): asserts raster is Raster {
  if (typeof raster !== 'object' || raster === null) throw invalidRaster('(itself)', 'a raster object', raster);
  const r = raster as Partial<Raster>;
  if (!isPositiveInteger(r.width)) throw invalidRaster('width', 'a positive integer', r.width);
  if (!isPositiveInteger(r.height)) throw invalidRaster('height', 'a positive integer', r.height);
  if (!isPositiveInteger(r.bands)) throw invalidRaster('bands', 'a positive integer', r.bands);
  if (!isDType(r.dtype)) throw invalidRaster('dtype', `one of ${DTYPES.join(', ')}`, r.dtype);
  if (!isDataOfDType(r.data, r.dtype)) {
    throw invalidRaster('data', `a ${arrayNameFor(r.dtype)} for dtype ${r.dtype}`, typedArrayKind(r.data) ?? r.data);
  }
  const expectedLength = r.width * r.height * r.bands;
  if (r.data.length !== expectedLength) {
    throw invalidRaster('data', `${expectedLength} samples (width ${r.width} x height ${r.height} x bands ${r.bands})`, `${r.data.length} samples`);
  }
  if (r.nodata !== undefined && (typeof r.nodata !== 'number' || !isRepresentable(r.nodata, r.dtype))) {
    throw invalidRaster('nodata', `a number that ${r.dtype} can hold`, r.nodata);
  }
  if (r.geo !== undefined) checkGeoInfo(r.geo);
  if (r.bandNames !== undefined) {
    if (!Array.isArray(r.bandNames) || r.bandNames.length !== r.bands || !r.bandNames.every((n) => typeof n === 'string')) {
      throw invalidRaster('bandNames', `an array of ${r.bands} strings (one per band)`, r.bandNames);
    }
  }
  if (r.sourceFormat !== undefined && !IMAGE_FORMATS.includes(r.sourceFormat)) {
    throw invalidRaster('sourceFormat', `one of ${IMAGE_FORMATS.join(', ')}`, r.sourceFormat);
  }
}

/** Builds a validated Raster. Samples are taken as given (not copied); left out, they are allocated zero-filled. */
export function createRaster(spec: RasterSpec): Raster {
  if (typeof spec !== 'object' || spec === null) throw invalidRaster('(itself)', 'a raster specification object', spec);
  let data = spec.data;
  if (data === undefined && isPositiveInteger(spec.width) && isPositiveInteger(spec.height) && isPositiveInteger(spec.bands) && isDType(spec.dtype)) {
    data = allocateSamples(spec.dtype, spec.width * spec.height * spec.bands);
  }
  const raster: Raster = { width: spec.width, height: spec.height, bands: spec.bands, dtype: spec.dtype, data: data as RasterData };
  if (spec.nodata !== undefined) raster.nodata = spec.nodata;
  if (spec.geo !== undefined) raster.geo = spec.geo;
  if (spec.bandNames !== undefined) raster.bandNames = spec.bandNames;
  if (spec.sourceFormat !== undefined) raster.sourceFormat = spec.sourceFormat;
  if (spec.medical !== undefined) raster.medical = spec.medical;
  checkRaster(raster);
  return raster;
}
