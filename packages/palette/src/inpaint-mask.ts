import { DiffusekitError, hasAlphaBand, type DType, type Raster } from '@diffusekit/core';

/** The value at or above which a mask sample means "fill": half of the dtype's full scale. */
export const MASK_THRESHOLD: Readonly<Record<DType, number>> = { uint8: 128, uint16: 32768, int16: 16384, float32: 0.5 };

/**
 * Turns a mask image into one value per pixel, 1 = fill, 0 = keep. A pixel is filled when its brightest band is at
 * least half the dtype's full scale (white on black, any bit depth, grey or colour); when the mask has an alpha band
 * (PNG/WebP/TIFF with 2 or 4 bands) a pixel that is less than half opaque is kept whatever its colour, so strokes
 * painted on a transparent layer work too. Throws MASK_MISSING, MASK_SIZE_MISMATCH or MASK_EMPTY.
 */
export function binariseMask(mask: Raster | undefined, image: Raster): Uint8Array {
  if (mask === undefined || mask === null) {
    throw new DiffusekitError('MASK_MISSING', 'Expected a mask (white = fill) for inpainting but received none');
  }
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new DiffusekitError(
      'MASK_SIZE_MISMATCH',
      `Expected a mask of the image's size ${image.width}x${image.height} but received ${mask.width}x${mask.height}`,
      { details: { image: [image.width, image.height], mask: [mask.width, mask.height] } },
    );
  }
  const pixels = mask.width * mask.height;
  const threshold = MASK_THRESHOLD[mask.dtype];
  const alpha = hasAlphaBand(mask, 3) ? mask.bands - 1 : undefined;
  const colourBands = alpha === undefined ? mask.bands : mask.bands - 1;
  const out = new Uint8Array(pixels);
  let holes = 0;
  for (let i = 0; i < pixels; i++) {
    if (alpha !== undefined && mask.data[alpha * pixels + i]! < threshold) continue;
    let bright = false;
    for (let b = 0; b < colourBands && !bright; b++) bright = mask.data[b * pixels + i]! >= threshold;
    if (bright) {
      out[i] = 1;
      holes++;
    }
  }
  if (holes === 0) {
    throw new DiffusekitError('MASK_EMPTY', `Expected a mask with at least one pixel to fill (a value >= ${threshold} for ${mask.dtype}) but every pixel is below it`, {
      details: { threshold, dtype: mask.dtype },
    });
  }
  return out;
}
