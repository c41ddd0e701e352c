import type { Rng } from '../random/rng.js';
import type { ChwShape } from '../tiling/pad.js';

/** Where an image lies in a larger frame: the frame pixel of its top-left corner. */
export interface NoiseOrigin {
  x: number;
  y: number;
}

/** Noise is drawn in runs of this many pixels along a row, each run from its own derived stream. */
const RUN = 256;

/** Any integer as a non-negative one (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), for use as a stream id. */
function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/**
 * Fills a [c, paddedHeight, paddedWidth] buffer with standard normal noise in which every value depends only on the
 * rng and on its channel and frame position: pixel (c, y, x) of the buffer sits at frame pixel (origin.x + x,
 * origin.y + y). Each frame row is cut into runs of 256 pixels drawn from a stream derived from (channel, row, run), so
 * a window of a large image (a tile, a grid cell, a `--window` read) gets exactly the noise the whole image would
 * give those pixels, padding included, and how an image is tiled or padded changes no pixel's noise.
 */
export function fillNoiseField(
  rng: Rng,
  image: ChwShape,
  paddedHeight: number,
  paddedWidth: number,
  out: Float32Array,
  origin: NoiseOrigin = { x: 0, y: 0 },
): Float32Array {
  const scratch = new Float32Array(RUN);
  for (let c = 0; c < image.channels; c++) {
    const channel = rng.derive(c);
    for (let y = 0; y < paddedHeight; y++) {
      const frameRow = channel.derive(zigzag(origin.y + y));
      const rowStart = (c * paddedHeight + y) * paddedWidth;
      const first = Math.floor(origin.x / RUN);
      const last = Math.floor((origin.x + paddedWidth - 1) / RUN);
      for (let run = first; run <= last; run++) {
        const runX = run * RUN;
        const from = Math.max(runX, origin.x);
        const to = Math.min(runX + RUN, origin.x + paddedWidth);
        const target = out.subarray(rowStart + from - origin.x, rowStart + to - origin.x);
        const stream = frameRow.derive(zigzag(run));
        if (from === runX) stream.fillNormal(target);
        else target.set(stream.fillNormal(scratch.subarray(0, to - runX)).subarray(from - runX));
      }
    }
  }
  return out;
}
