import type { Rng } from '../random/rng.js';
import type { ChwShape } from '../tiling/pad.js';

/**
 * Fills a [c, paddedHeight, paddedWidth] buffer with standard normal noise so that each image pixel's value depends
 * only on the rng stream and its (c, y, x) position, not on how much padding surrounds it: the stream's first
 * c*h*w values go to the image in CHW order, the rest to the padding. Tiled and untiled runs of one seed therefore
 * share every image pixel's noise, and changing the tile size leaves the result unchanged (up to float rounding).
 * The draws are written row by row in stream order (a generator's output does not depend on how it is chunked), so
 * no second buffer of the image's size is needed.
 */
export function fillNoiseField(rng: Rng, image: ChwShape, paddedHeight: number, paddedWidth: number, out: Float32Array): Float32Array {
  const { channels, height, width } = image;
  if (paddedHeight === height && paddedWidth === width) return rng.fillNormal(out);
  const rowOf = (c: number, y: number) => (c * paddedHeight + y) * paddedWidth;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) rng.fillNormal(out.subarray(rowOf(c, y), rowOf(c, y) + width));
  }
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const row = rowOf(c, y);
      rng.fillNormal(out.subarray(y < height ? row + width : row, row + paddedWidth));
    }
  }
  return out;
}
