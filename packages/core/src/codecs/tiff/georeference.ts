import type { GeoInfo, GeoKeyDirectory, GeoTransform } from '../../raster/types.js';
import { fieldNumbers, fieldText } from './directory.js';
import type { TiffDirectory } from './directory.js';
import { epsgFromGeoKeys, geoKeysForEpsg, isPixelIsPoint, parseGeoKeys, serializeGeoKeys } from './geo-keys.js';
import { FieldType, Tag } from './tags.js';
import type { FieldToWrite } from './write-tiff.js';

/** GDAL's convention: a PixelIsPoint tiepoint names the centre of a pixel, the geotransform its corner. */
function shiftHalfPixel(transform: GeoTransform, direction: 1 | -1): GeoTransform {
  const [x, pw, rr, y, cr, ph] = transform;
  return [x + direction * 0.5 * (pw + rr), pw, rr, y + direction * 0.5 * (cr + ph), cr, ph];
}

function transformFromTags(directory: TiffDirectory): GeoTransform | undefined {
  const matrix = fieldNumbers(directory, Tag.ModelTransformation);
  if (matrix && matrix.length >= 16) {
    const [a, b, , d, e, f, , h] = matrix as [number, number, number, number, number, number, number, number];
    return [d, a, b, h, e, f];
  }
  const tiepoint = fieldNumbers(directory, Tag.ModelTiepoint);
  const scale = fieldNumbers(directory, Tag.ModelPixelScale);
  if (!tiepoint || tiepoint.length < 6 || !scale || scale.length < 2) return undefined;
  const [i, j, , x, y] = tiepoint as [number, number, number, number, number];
  const [sx, sy] = scale as [number, number];
  return [x - i * sx, sx, 0, y + j * sy, 0, -sy];
}

/** The georeference of a GeoTIFF, or undefined when it has no affine transform (e.g. only ground control points). */
export function readGeoInfo(directory: TiffDirectory): GeoInfo | undefined {
  const keyDirectory = fieldNumbers(directory, Tag.GeoKeyDirectory);
  const geoKeys = keyDirectory
    ? parseGeoKeys(keyDirectory, fieldNumbers(directory, Tag.GeoDoubleParams), fieldText(directory, Tag.GeoAsciiParams))
    : undefined;
  const transform = transformFromTags(directory);
  if (!transform || !transform.every(Number.isFinite)) return undefined;
  const geo: GeoInfo = { transform: isPixelIsPoint(geoKeys) ? shiftHalfPixel(transform, -1) : transform };
  const epsg = epsgFromGeoKeys(geoKeys);
  if (epsg !== undefined) geo.epsg = epsg;
  if (geoKeys) geo.geoKeys = geoKeys;
  return geo;
}

/** The keys to write: the original ones while they still describe geo.epsg, otherwise keys made from the EPSG code. */
export function geoKeysToWrite(geo: GeoInfo): GeoKeyDirectory {
  if (geo.geoKeys && (geo.epsg === undefined || epsgFromGeoKeys(geo.geoKeys) === geo.epsg)) return geo.geoKeys;
  return geoKeysForEpsg(geo.epsg);
}

/** The GeoTIFF fields for a georeference: tiepoint + pixel scale for north-up grids, a full matrix otherwise. */
export function geoFields(geo: GeoInfo): FieldToWrite[] {
  const geoKeys = geoKeysToWrite(geo);
  const [x, pw, rr, y, cr, ph] = isPixelIsPoint(geoKeys) ? shiftHalfPixel(geo.transform, 1) : geo.transform;
  const { directory, doubles, ascii } = serializeGeoKeys(geoKeys);
  const fields: FieldToWrite[] = [{ tag: Tag.GeoKeyDirectory, type: FieldType.SHORT, value: directory }];
  if (rr === 0 && cr === 0 && ph < 0) {
    fields.push({ tag: Tag.ModelPixelScale, type: FieldType.DOUBLE, value: [pw, -ph, 0] });
    fields.push({ tag: Tag.ModelTiepoint, type: FieldType.DOUBLE, value: [0, 0, 0, x, y, 0] });
  } else {
    fields.push({ tag: Tag.ModelTransformation, type: FieldType.DOUBLE, value: [pw, rr, 0, x, cr, ph, 0, y, 0, 0, 0, 0, 0, 0, 0, 1] });
  }
  if (doubles.length > 0) fields.push({ tag: Tag.GeoDoubleParams, type: FieldType.DOUBLE, value: doubles });
  if (ascii.length > 0) fields.push({ tag: Tag.GeoAsciiParams, type: FieldType.ASCII, value: ascii });
  return fields;
}
