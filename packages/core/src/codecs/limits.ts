import { DiffusekitError, invalidOption } from '../errors.js';

/** Default for DecodeOptions.maxPixels: 16384 x 16384 (about 268 megapixels). */
export const DEFAULT_MAX_PIXELS = 16384 * 16384;

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
