import type { Rng } from '../random/rng.js';
import type { ChwShape } from '../tiling/pad.js';

/**
 * Fills a [c, paddedHeight, paddedWidth] buffer with standard normal noise so that each image pixel's value depends
 * only on the rng stream and its (c, y, x) position, not on how much padding surrounds it: the stream's first
 * c*h*w values go to the image in CHW order, the rest to the padding. Tiled and untiled runs of one seed therefore
 * share every image pixel's noise, and changing the tile size leaves the result unchanged (up to float rounding).
 */
export function fillNoiseField(
  rng: Rng,
  image: ChwShape,
  paddedHeight: number,
  paddedWidth: number,
  out: Float32Array,
  scratch?: Float32Array,
): Float32Array {
  const { channels, height, width } = image;
  if (paddedHeight === height && paddedWidth === width) return rng.fillNormal(out);
  const draws = rng.fillNormal(scratch?.length === out.length ? scratch : new Float32Array(out.length));
  let fromImage = 0;
  let fromPadding = channels * height * width;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const row = (c * paddedHeight + y) * paddedWidth;
      if (y < height) {
        out.set(draws.subarray(fromImage, fromImage + width), row);
        fromImage += width;
        const padding = paddedWidth - width;
        out.set(draws.subarray(fromPadding, fromPadding + padding), row + width);
        fromPadding += padding;
      } else {
        out.set(draws.subarray(fromPadding, fromPadding + paddedWidth), row);
        fromPadding += paddedWidth;
      }
    }
  }
  return out;
}
