import type { GeoInfo, GeoKeyDirectory } from '../raster/types.js';

const GT_RASTER_TYPE_KEY = 1025;
const PIXEL_IS_POINT = 2;

function isPixelIsPoint(keys: GeoKeyDirectory | undefined): boolean {
  const key = keys?.keys.find((k) => k.id === GT_RASTER_TYPE_KEY);
  return key !== undefined && key.type === 'short' && key.values[0] === PIXEL_IS_POINT;
}

/**
 * The georeference of a raster resampled by an integer factor: same CRS and footprint, pixel size divided by `scale`.
 * For PixelIsPoint rasters the origin names the first pixel's centre, which moves inwards by half the pixel shrink.
 */
export function scaleGeoInfo(geo: GeoInfo, scale: number): GeoInfo {
  const [x0, a, b, y0, d, e] = geo.transform;
  let ox = x0;
  let oy = y0;
  if (isPixelIsPoint(geo.geoKeys)) {
    const shift = (1 - 1 / scale) / 2;
    ox = x0 - (a + b) * shift;
    oy = y0 - (d + e) * shift;
  }
  return { ...geo, transform: [ox, a / scale, b / scale, oy, d / scale, e / scale] };
}
