import { DiffusekitError, invalidOption } from '../errors.js';
import { allocateSamples } from './dtype.js';
import type { GeoInfo, GeoTransform, Raster, Rect } from './types.js';

/** Throws INVALID_OPTION unless `rect` is an integer rectangle of at least one pixel inside width x height. */
export function checkRect(rect: unknown, width: number, height: number, name = 'rect'): asserts rect is Rect {
  const r = rect as Partial<Rect> | null;
  const expected = `a rectangle { x, y, width, height } of whole pixels, at least 1x1, inside the ${width}x${height} image`;
  if (typeof r !== 'object' || r === null) throw invalidOption(name, expected, rect);
  const values = [r.x, r.y, r.width, r.height];
  const shown = `{ x: ${String(r.x)}, y: ${String(r.y)}, width: ${String(r.width)}, height: ${String(r.height)} }`;
  const badRect = () =>
    new DiffusekitError('INVALID_OPTION', `Expected ${expected} for ${name} but received ${shown}`, { details: { option: name, expected } });
  if (!values.every((v) => Number.isSafeInteger(v))) throw badRect();
  const [x, y, w, h] = values as [number, number, number, number];
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > width || y + h > height) throw badRect();
}

/** The geotransform of the sub-grid whose top-left pixel is (x, y) of the original. */
export function offsetTransform(transform: GeoTransform, x: number, y: number): GeoTransform {
  const [originX, pixelWidth, rowRotation, originY, colRotation, pixelHeight] = transform;
  return [
    originX + x * pixelWidth + y * rowRotation,
    pixelWidth,
    rowRotation,
    originY + x * colRotation + y * pixelHeight,
    colRotation,
    pixelHeight,
  ];
}

export function offsetGeo(geo: GeoInfo, x: number, y: number): GeoInfo {
  return x === 0 && y === 0 ? geo : { ...geo, transform: offsetTransform(geo.transform, x, y) };
}

/** A new raster with the pixels of `rect` in every band; the georeference and `origin` move with the crop. */
export function cropRaster(raster: Raster, rect: Rect): Raster {
  checkRect(rect, raster.width, raster.height);
  const { x, y, width, height } = rect;
  const data = allocateSamples(raster.dtype, width * height * raster.bands);
  const plane = raster.width * raster.height;
  for (let band = 0; band < raster.bands; band++) {
    for (let row = 0; row < height; row++) {
      const from = band * plane + (y + row) * raster.width + x;
      data.set(raster.data.subarray(from, from + width), (band * height + row) * width);
    }
  }
  const cropped: Raster = { ...raster, width, height, data, origin: { x: (raster.origin?.x ?? 0) + x, y: (raster.origin?.y ?? 0) + y } };
  if (raster.geo) cropped.geo = offsetGeo(raster.geo, x, y);
  return cropped;
}
