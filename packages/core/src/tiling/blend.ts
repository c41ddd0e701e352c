import { DiffusekitError } from '../errors.js';
import type { TilePlan } from './plan.js';

/**
 * Weight along one axis of a tile: 1 in the interior, ramping linearly towards the tile edge across the overlap with
 * each neighbour on that side, and never zero, so every padded pixel keeps a positive total weight. Edges without a
 * neighbour (the image border) keep weight 1.
 */
function axisWeights(starts: readonly number[], index: number, size: number): Float32Array {
  const start = starts[index]!;
  const before = starts[index - 1];
  const after = starts[index + 1];
  const overlapBefore = before === undefined ? 0 : before + size - start;
  const overlapAfter = after === undefined ? 0 : start + size - after;
  const weights = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    const rampIn = overlapBefore > 0 ? Math.min(1, (k + 1) / (overlapBefore + 1)) : 1;
    const rampOut = overlapAfter > 0 ? Math.min(1, (size - k) / (overlapAfter + 1)) : 1;
    weights[k] = Math.min(rampIn, rampOut);
  }
  return weights;
}

/** The separable blend window of one tile, as (row weights, column weights). */
export function blendAxes(plan: TilePlan, tileIndex: number): { wy: Float32Array; wx: Float32Array } {
  const rect = plan.tiles[tileIndex];
  if (rect === undefined) throw new DiffusekitError('INVALID_ARGUMENT', `No tile ${tileIndex} in a plan of ${plan.tiles.length} tiles`);
  return { wy: axisWeights(plan.yStarts, rect.row, rect.height), wx: axisWeights(plan.xStarts, rect.col, rect.width) };
}

/** The per-pixel blend weight window (tileHeight x tileWidth, row-major) of one tile; positive everywhere. */
export function blendWeights(plan: TilePlan, tileIndex: number): Float32Array {
  const { wy, wx } = blendAxes(plan, tileIndex);
  const window = new Float32Array(wy.length * wx.length);
  for (let y = 0; y < wy.length; y++) for (let x = 0; x < wx.length; x++) window[y * wx.length + x] = wy[y]! * wx[x]!;
  return window;
}

/**
 * Fuses per-tile predictions into one full (padded) image: sum_i w_i * p_i / sum_i w_i at every pixel. The reciprocal
 * of the weight sum is computed once per plan, so the normalised weights sum to one at every pixel by construction.
 * Accumulation is in float64: where all tiles predict the same value p (float32), w * p and the sum are exact and the
 * scaled result rounds back to exactly p, so an overlap never perturbs agreeing predictions, not even by an ulp. That
 * matters because x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) amplifies any perturbation by up to 1/sqrt(ab) = 2e4.
 */
export class TileFusion {
  readonly plan: TilePlan;
  readonly channels: number;
  private readonly accumulator: Float64Array;
  private readonly inverseWeightSum: Float64Array;
  private readonly axes: { wy: Float32Array; wx: Float32Array }[];

  constructor(plan: TilePlan, channels: number) {
    this.plan = plan;
    this.channels = channels;
    const { paddedWidth: width, paddedHeight: height } = plan;
    this.accumulator = new Float64Array(channels * width * height);
    this.axes = plan.tiles.map((_, i) => blendAxes(plan, i));
    const sum = new Float64Array(width * height);
    plan.tiles.forEach((rect, i) => {
      const { wy, wx } = this.axes[i]!;
      for (let y = 0; y < rect.height; y++) {
        const row = (rect.y + y) * width + rect.x;
        for (let x = 0; x < rect.width; x++) sum[row + x]! += wy[y]! * wx[x]!;
      }
    });
    this.inverseWeightSum = new Float64Array(width * height);
    for (let i = 0; i < sum.length; i++) {
      if (!(sum[i]! > 0)) {
        throw new DiffusekitError('INVALID_ARGUMENT', `The tile plan leaves pixel ${i % width}, ${Math.floor(i / width)} uncovered`);
      }
      this.inverseWeightSum[i] = 1 / sum[i]!;
    }
  }

  /** Clears the accumulated predictions (call once per step). */
  reset(): void {
    this.accumulator.fill(0);
  }

  /** Adds tile `tileIndex`'s prediction, read as [c, th, tw] from `prediction` starting at `offset`. */
  add(tileIndex: number, prediction: Float32Array, offset = 0): void {
    const rect = this.plan.tiles[tileIndex];
    const axes = this.axes[tileIndex];
    if (rect === undefined || axes === undefined) {
      throw new DiffusekitError('INVALID_ARGUMENT', `No tile ${tileIndex} in a plan of ${this.plan.tiles.length} tiles`);
    }
    const { wy, wx } = axes;
    const { paddedWidth: width, paddedHeight: height } = this.plan;
    const tileWidth = rect.width;
    if (offset + this.channels * rect.height * tileWidth > prediction.length) {
      throw new DiffusekitError(
        'INVALID_ARGUMENT',
        `Prediction of length ${prediction.length} is too short for tile ${tileIndex} at offset ${offset}`,
      );
    }
    const acc = this.accumulator;
    let p = offset;
    for (let c = 0; c < this.channels; c++) {
      for (let y = 0; y < rect.height; y++) {
        const rowWeight = wy[y]!;
        const row = (c * height + rect.y + y) * width + rect.x;
        for (let x = 0; x < tileWidth; x++) acc[row + x]! += rowWeight * wx[x]! * prediction[p++]!;
      }
    }
  }

  /** The normalised fusion as a [c, paddedHeight, paddedWidth] image. */
  result(out: Float32Array = new Float32Array(this.accumulator.length)): Float32Array {
    if (out.length !== this.accumulator.length) {
      throw new DiffusekitError('INVALID_ARGUMENT', `Expected out of length ${this.accumulator.length} but received length ${out.length}`);
    }
    const plane = this.inverseWeightSum.length;
    const acc = this.accumulator;
    const inv = this.inverseWeightSum;
    for (let c = 0; c < this.channels; c++) {
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = acc[base + i]! * inv[i]!;
    }
    return out;
  }
}

export function createTileFusion(plan: TilePlan, channels: number): TileFusion {
  return new TileFusion(plan, channels);
}
