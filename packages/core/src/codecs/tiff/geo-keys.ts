import type { GeoKey, GeoKeyDirectory } from '../../raster/types.js';
import { GeoKeyId, MODEL_TYPE_GEOGRAPHIC, MODEL_TYPE_PROJECTED, RASTER_PIXEL_IS_AREA, RASTER_PIXEL_IS_POINT, Tag } from './tags.js';

const USER_DEFINED = 32767;

/** Decodes GeoKeyDirectory + GeoDoubleParams + GeoAsciiParams into keys that remember how each was stored. */
export function parseGeoKeys(directory: number[], doubles: number[] = [], ascii = ''): GeoKeyDirectory | undefined {
  if (directory.length < 4) return undefined;
  const [version, revision, minorRevision, count] = directory as [number, number, number, number];
  const keys: GeoKey[] = [];
  for (let i = 0; i < count; i++) {
    const entry = directory.slice(4 + i * 4, 8 + i * 4);
    if (entry.length < 4) break;
    const [id, location, valueCount, valueOrIndex] = entry as [number, number, number, number];
    if (location === 0) keys.push({ id, type: 'short', values: [valueOrIndex] });
    else if (location === Tag.GeoKeyDirectory) keys.push({ id, type: 'short', values: directory.slice(valueOrIndex, valueOrIndex + valueCount) });
    else if (location === Tag.GeoDoubleParams) keys.push({ id, type: 'double', values: doubles.slice(valueOrIndex, valueOrIndex + valueCount) });
    else if (location === Tag.GeoAsciiParams) {
      // The count includes the '|' that terminates each string inside GeoAsciiParams.
      const text = ascii.slice(valueOrIndex, valueOrIndex + valueCount);
      keys.push({ id, type: 'ascii', value: text.replace(/[|\0]$/, '') });
    }
  }
  return { version, revision, minorRevision, keys };
}

/** Encodes keys (sorted by id, as GeoTIFF requires) into the three GeoTIFF tags. */
export function serializeGeoKeys(geoKeys: GeoKeyDirectory): { directory: number[]; doubles: number[]; ascii: string } {
  const keys = [...geoKeys.keys].sort((a, b) => a.id - b.id);
  const directory = [geoKeys.version, geoKeys.revision, geoKeys.minorRevision, keys.length];
  const doubles: number[] = [];
  let ascii = '';
  const shortArrays: number[][] = [];
  for (const key of keys) {
    if (key.type === 'ascii') {
      directory.push(key.id, Tag.GeoAsciiParams, key.value.length + 1, ascii.length);
      ascii += `${key.value}|`;
    } else if (key.type === 'double') {
      directory.push(key.id, Tag.GeoDoubleParams, key.values.length, doubles.length);
      doubles.push(...key.values);
    } else if (key.values.length === 1) {
      directory.push(key.id, 0, 1, key.values[0]!);
    } else {
      directory.push(key.id, Tag.GeoKeyDirectory, key.values.length, -1);
      shortArrays.push(key.values);
    }
  }
  // Short arrays live at the end of the directory itself; their indexes are known only once it is complete.
  let next = directory.length;
  let arrayIndex = 0;
  for (let at = 4; at < 4 + keys.length * 4; at += 4) {
    if (directory[at + 3] !== -1) continue;
    directory[at + 3] = next;
    next += shortArrays[arrayIndex++]!.length;
  }
  for (const values of shortArrays) directory.push(...values);
  return { directory, doubles, ascii };
}

function shortKey(geoKeys: GeoKeyDirectory | undefined, id: number): number | undefined {
  const key = geoKeys?.keys.find((k) => k.id === id);
  return key?.type === 'short' ? key.values[0] : undefined;
}

const isEpsgCode = (code: number | undefined): code is number => code !== undefined && code > 0 && code < USER_DEFINED;

/** The EPSG code named by the keys: the projected CRS for projected models, the geographic CRS for geographic ones. */
export function epsgFromGeoKeys(geoKeys: GeoKeyDirectory | undefined): number | undefined {
  const modelType = shortKey(geoKeys, GeoKeyId.GTModelType);
  const projected = shortKey(geoKeys, GeoKeyId.ProjectedCSType);
  const geographic = shortKey(geoKeys, GeoKeyId.GeographicType);
  if (modelType === MODEL_TYPE_PROJECTED) return isEpsgCode(projected) ? projected : undefined;
  if (modelType === MODEL_TYPE_GEOGRAPHIC) return isEpsgCode(geographic) ? geographic : undefined;
  return isEpsgCode(projected) ? projected : isEpsgCode(geographic) ? geographic : undefined;
}

export function isPixelIsPoint(geoKeys: GeoKeyDirectory | undefined): boolean {
  return shortKey(geoKeys, GeoKeyId.GTRasterType) === RASTER_PIXEL_IS_POINT;
}

/**
 * Minimal keys for a CRS known only by its EPSG code. Codes 4000..4999 are taken as geographic (EPSG's range for
 * geographic 2D systems such as 4326); all others as projected.
 */
export function geoKeysForEpsg(epsg: number | undefined): GeoKeyDirectory {
  const keys: GeoKey[] = [];
  if (epsg !== undefined) {
    const geographic = epsg >= 4000 && epsg < 5000;
    keys.push({ id: GeoKeyId.GTModelType, type: 'short', values: [geographic ? MODEL_TYPE_GEOGRAPHIC : MODEL_TYPE_PROJECTED] });
    keys.push({ id: GeoKeyId.GTRasterType, type: 'short', values: [RASTER_PIXEL_IS_AREA] });
    keys.push({ id: geographic ? GeoKeyId.GeographicType : GeoKeyId.ProjectedCSType, type: 'short', values: [epsg] });
  } else {
    keys.push({ id: GeoKeyId.GTRasterType, type: 'short', values: [RASTER_PIXEL_IS_AREA] });
  }
  return { version: 1, revision: 1, minorRevision: 0, keys };
}
