import { DiffusekitError, invalidOption } from '../errors.js';

/**
 * Default for DecodeOptions.maxPixels: 2^27 (about 134 megapixels, 11585 x 11585). A whole Sentinel-2 10 m tile
 * (10980 x 10980) fits; the largest WebP (16383 x 16383), which a 10 kB file can claim and which took 1.6 GB and 14 s
 * to decode, does not. Larger trusted images: raise it, or read GeoTIFF windows.
 */
export const DEFAULT_MAX_PIXELS = 2 ** 27;

export function resolveMaxPixels(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_PIXELS;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalidOption('maxPixels', 'a positive integer number of pixels', value);
  }
  return value;
}

/** IMAGE_TOO_LARGE before anything is allocated when `width` x `height` exceeds the limit. */
export function checkPixelLimit(width: number, height: number, maxPixels: number, what = 'The image'): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new DiffusekitError(
      'IMAGE_TOO_LARGE',
      `${what} is ${width}x${height} = ${pixels} pixels, more than the limit of ${maxPixels}; raise maxPixels if this input is trusted, or read a window`,
      { details: { width, height, pixels, maxPixels } },
    );
  }
}
