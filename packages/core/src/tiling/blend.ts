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
 * of the weight sum (a row factor times a column factor) is computed once per plan, so the normalised weights sum to
 * one at every pixel up to float64 rounding.
 * Accumulation is in float64: where all tiles predict the same value p (float32), the weighted sum and its scaling
 * err by about 1e-16 relative, far below half a float32 ulp, so the result rounds back to exactly p and an overlap
 * never perturbs agreeing predictions, not even by an ulp (tested). That
 * matters because x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) amplifies any perturbation by up to 1/sqrt(ab) = 2e4.
 */
export class TileFusion {
  readonly plan: TilePlan;
  readonly channels: number;
  private readonly accumulator: Float64Array;
  /** 1 / (sum of the tiles' weights) per padded row and per padded column: the weight sum is separable. */
  private readonly inverseRowSum: Float64Array;
  private readonly inverseColumnSum: Float64Array;
  private readonly axes: { wy: Float32Array; wx: Float32Array }[];

  constructor(plan: TilePlan, channels: number) {
    this.plan = plan;
    this.channels = channels;
    const { paddedWidth: width, paddedHeight: height } = plan;
    this.accumulator = new Float64Array(channels * width * height);
    this.axes = plan.tiles.map((_, i) => blendAxes(plan, i));
    // Tiles form a grid of rows x columns and a tile's window is (row weights) x (column weights) fixed by its row and
    // column, so the sum over tiles at (y, x) is (sum over rows at y) * (sum over columns at x): two short arrays
    // instead of a weight per pixel.
    const rowSum = new Float64Array(height);
    const columnSum = new Float64Array(width);
    plan.yStarts.forEach((start, row) => {
      const { wy } = blendAxes(plan, plan.tiles.find((t) => t.row === row)!.index);
      wy.forEach((w, k) => (rowSum[start + k]! += w));
    });
    plan.xStarts.forEach((start, col) => {
      const { wx } = blendAxes(plan, plan.tiles.find((t) => t.col === col)!.index);
      wx.forEach((w, k) => (columnSum[start + k]! += w));
    });
    const uncoveredRow = rowSum.findIndex((sum) => !(sum > 0));
    const uncoveredColumn = columnSum.findIndex((sum) => !(sum > 0));
    if (uncoveredRow >= 0 || uncoveredColumn >= 0 || plan.tiles.length !== plan.xStarts.length * plan.yStarts.length) {
      throw new DiffusekitError('INVALID_ARGUMENT', `The tile plan does not cover the padded image with a full grid (row ${uncoveredRow}, column ${uncoveredColumn})`);
    }
    this.inverseRowSum = rowSum.map((sum) => 1 / sum);
    this.inverseColumnSum = columnSum.map((sum) => 1 / sum);
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
    const { paddedWidth: width, paddedHeight: height } = this.plan;
    const acc = this.accumulator;
    const invRow = this.inverseRowSum;
    const invColumn = this.inverseColumnSum;
    for (let c = 0; c < this.channels; c++) {
      for (let y = 0; y < height; y++) {
        const base = (c * height + y) * width;
        const rowFactor = invRow[y]!;
        for (let x = 0; x < width; x++) out[base + x] = acc[base + x]! * (rowFactor * invColumn[x]!);
      }
    }
    return out;
  }
}

export function createTileFusion(plan: TilePlan, channels: number): TileFusion {
  return new TileFusion(plan, channels);
}
