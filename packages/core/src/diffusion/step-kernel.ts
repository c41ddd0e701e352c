/**
 * Every sampler step here is, per element,
 *   x0   = clip(x0FromX * x + x0FromOut * modelOut)
 *   prev = prevFromX0 * x0 + prevFromX * x + prevFromHistory * history + noiseScale * z
 * with scalars precomputed once per step, so one kernel serves DDPM, DDIM and DPM-Solver++ for every prediction
 * type. x0 stays in double precision between the two lines; it is rounded to float32 only when stored.
 */
export interface StepScalars {
  x0FromX: number;
  x0FromOut: number;
  /** Clip range for x0; -Infinity / Infinity when clipping is off. */
  clipLow: number;
  clipHigh: number;
  prevFromX0: number;
  prevFromX: number;
  prevFromHistory: number;
  noiseScale: number;
}

/** Output buffers may alias the inputs: each element is read before it is written. */
export function applyStep(
  s: StepScalars,
  modelOut: Float32Array,
  x: Float32Array,
  history: Float32Array | null,
  noise: Float32Array | null,
  x0Out: Float32Array,
  prevOut: Float32Array,
): void {
  const n = x.length;
  const { x0FromX: ax, x0FromOut: ao, clipLow: lo, clipHigh: hi, prevFromX0: p0, prevFromX: px, noiseScale: pz } = s;
  const ph = s.prevFromHistory;
  if (history !== null && noise !== null) {
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let x0 = ax * xi + ao * modelOut[i]!;
      if (x0 < lo) x0 = lo;
      else if (x0 > hi) x0 = hi;
      const h = history[i]!;
      x0Out[i] = x0;
      prevOut[i] = p0 * x0 + px * xi + ph * h + pz * noise[i]!;
    }
  } else if (history !== null) {
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let x0 = ax * xi + ao * modelOut[i]!;
      if (x0 < lo) x0 = lo;
      else if (x0 > hi) x0 = hi;
      const h = history[i]!;
      x0Out[i] = x0;
      prevOut[i] = p0 * x0 + px * xi + ph * h;
    }
  } else if (noise !== null) {
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let x0 = ax * xi + ao * modelOut[i]!;
      if (x0 < lo) x0 = lo;
      else if (x0 > hi) x0 = hi;
      x0Out[i] = x0;
      prevOut[i] = p0 * x0 + px * xi + pz * noise[i]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let x0 = ax * xi + ao * modelOut[i]!;
      if (x0 < lo) x0 = lo;
      else if (x0 > hi) x0 = hi;
      x0Out[i] = x0;
      prevOut[i] = p0 * x0 + px * xi;
    }
  }
}
