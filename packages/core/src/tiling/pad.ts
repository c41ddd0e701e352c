import { DiffusekitError } from '../errors.js';
import type { TileRect } from './plan.js';

/** Channel-first image dimensions of a Float32Array laid out as [channels, height, width]. */
export interface ChwShape {
  channels: number;
  height: number;
  width: number;
}

function checkLength(name: string, data: Float32Array, expected: number): void {
  if (data.length !== expected) {
    throw new DiffusekitError('INVALID_ARGUMENT', `Expected ${name} of length ${expected} but received length ${data.length}`);
  }
}

/** Mirror index without repeating the edge (numpy's 'reflect'); folds back and forth for pads wider than the image. */
export function reflectIndex(i: number, size: number): number {
  if (size === 1) return 0;
  const period = 2 * (size - 1);
  const m = ((i % period) + period) % period;
  return m < size ? m : period - m;
}

/** Reflect-pads a CHW image on the right and bottom to paddedHeight x paddedWidth. */
export function reflectPad(
  src: Float32Array,
  shape: ChwShape,
  paddedHeight: number,
  paddedWidth: number,
  out: Float32Array = new Float32Array(shape.channels * paddedHeight * paddedWidth),
): Float32Array {
  const { channels, height, width } = shape;
  checkLength('src', src, channels * height * width);
  if (paddedHeight < height || paddedWidth < width) {
    throw new DiffusekitError('INVALID_ARGUMENT', `Cannot pad ${width}x${height} to the smaller ${paddedWidth}x${paddedHeight}`);
  }
  checkLength('out', out, channels * paddedHeight * paddedWidth);
  const columnSource = new Int32Array(paddedWidth);
  for (let x = 0; x < paddedWidth; x++) columnSource[x] = reflectIndex(x, width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const srcRow = (c * height + reflectIndex(y, height)) * width;
      const dstRow = (c * paddedHeight + y) * paddedWidth;
      out.set(src.subarray(srcRow, srcRow + width), dstRow);
      for (let x = width; x < paddedWidth; x++) out[dstRow + x] = src[srcRow + columnSource[x]!]!;
    }
  }
  return out;
}

/** Copies the rectangle (x, y, width, height) out of a CHW image. */
export function cropChw(
  src: Float32Array,
  shape: ChwShape,
  rect: { x: number; y: number; width: number; height: number },
  out: Float32Array = new Float32Array(shape.channels * rect.width * rect.height),
  outOffset = 0,
): Float32Array {
  const { channels, height, width } = shape;
  checkLength('src', src, channels * height * width);
  if (rect.x < 0 || rect.y < 0 || rect.x + rect.width > width || rect.y + rect.height > height) {
    throw new DiffusekitError(
      'INVALID_ARGUMENT',
      `Rectangle ${rect.width}x${rect.height} at (${rect.x}, ${rect.y}) lies outside the ${width}x${height} image`,
    );
  }
  if (outOffset + channels * rect.width * rect.height > out.length) {
    throw new DiffusekitError('INVALID_ARGUMENT', `Output buffer of length ${out.length} is too small for the crop at offset ${outOffset}`);
  }
  let o = outOffset;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < rect.height; y++) {
      const start = (c * height + rect.y + y) * width + rect.x;
      out.set(src.subarray(start, start + rect.width), o);
      o += rect.width;
    }
  }
  return out;
}

/** The top-left height x width corner of a CHW image: undoes `reflectPad`. */
export function cropTopLeft(src: Float32Array, shape: ChwShape, height: number, width: number, out?: Float32Array): Float32Array {
  return cropChw(src, shape, { x: 0, y: 0, width, height }, out);
}

/** One tile of a (padded) CHW image, written at `outOffset` of `out`. */
export function extractTile(src: Float32Array, shape: ChwShape, rect: TileRect, out?: Float32Array, outOffset = 0): Float32Array {
  return cropChw(src, shape, rect, out, outOffset);
}

/** Several equally sized tiles as one [n, c, th, tw] batch. */
export function extractTiles(src: Float32Array, shape: ChwShape, rects: readonly TileRect[], out?: Float32Array): Float32Array {
  const first = rects[0];
  if (first === undefined) return out ?? new Float32Array(0);
  const perTile = shape.channels * first.width * first.height;
  const batch = out ?? new Float32Array(perTile * rects.length);
  rects.forEach((rect, i) => {
    if (rect.width !== first.width || rect.height !== first.height) {
      throw new DiffusekitError('INVALID_ARGUMENT', 'Expected tiles of one size in a batch');
    }
    cropChw(src, shape, rect, batch, i * perTile);
  });
  return batch;
}
