import { nodataMatcher } from './nodata-mask.js';
import type { Raster } from './types.js';

/** The valid samples of one band: nodata and NaN left out. */
function validSamples(raster: Raster, band: number): { values: ArrayLike<number>; count: number; keep: (v: number) => boolean } {
  const plane = raster.width * raster.height;
  const values = raster.data.subarray(band * plane, (band + 1) * plane);
  const isNodata = nodataMatcher(raster);
  const keep = (v: number) => !Number.isNaN(v) && !(isNodata?.(v) ?? false);
  return { values, count: plane, keep };
}

/** Smallest and largest valid sample of a band; undefined when the band holds no valid sample. */
export function bandMinMax(raster: Raster, band: number): { min: number; max: number } | undefined {
  const { values, count, keep } = validSamples(raster, band);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (!keep(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : undefined;
}

/** Linear interpolation between order statistics (numpy's default): rank p/100 * (n - 1). */
function interpolateRank(valueAt: (rank: number) => number, count: number, percentile: number): number {
  const rank = (percentile / 100) * (count - 1);
  const below = Math.floor(rank);
  const fraction = rank - below;
  const low = valueAt(below);
  return fraction === 0 ? low : low + fraction * (valueAt(Math.min(below + 1, count - 1)) - low);
}

/** Integer bands use a histogram (exact and linear-time); float32 bands sort a copy of their valid samples. */
export function bandPercentiles(raster: Raster, band: number, percentiles: readonly number[]): number[] | undefined {
  const { values, count, keep } = validSamples(raster, band);
  if (raster.dtype === 'float32') {
    const valid = new Float32Array(count);
    let n = 0;
    for (let i = 0; i < count; i++) if (keep(values[i]!)) valid[n++] = values[i]!;
    if (n === 0) return undefined;
    const sorted = valid.subarray(0, n).sort();
    return percentiles.map((p) => interpolateRank((rank) => sorted[rank]!, n, p));
  }
  const offset = raster.dtype === 'int16' ? 32768 : 0;
  const histogram = new Float64Array(raster.dtype === 'uint8' ? 256 : 65536);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (!keep(v)) continue;
    histogram[v + offset]!++;
    n++;
  }
  if (n === 0) return undefined;
  const cumulative = new Float64Array(histogram.length);
  let running = 0;
  for (let bin = 0; bin < histogram.length; bin++) cumulative[bin] = running += histogram[bin]!;
  const valueAt = (rank: number) => {
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > rank) hi = mid;
      else lo = mid + 1;
    }
    return lo - offset;
  };
  return percentiles.map((p) => interpolateRank(valueAt, n, p));
}
