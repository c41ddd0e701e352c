import { DiffusekitError, invalidOption } from '../errors.js';
import { bandMinMax, bandPercentiles } from './band-statistics.js';
import { dtypeRange } from './dtype.js';
import type { DType, Raster } from './types.js';

/**
 * How sample values map onto a model's input range, per band:
 * - 'dtype': the full range of the dtype (0..255, 0..65535, -32768..32767); not defined for float32.
 * - 'minmax': each band's smallest..largest valid sample (nodata and NaN excluded).
 * - 'percentile': each band's low..high percentile of valid samples; values outside are clipped.
 * - 'fixed': explicit per-band min and max (one value is used for every band).
 */
export type Stretch =
  | { kind: 'dtype' }
  | { kind: 'minmax' }
  | { kind: 'percentile'; low: number; high: number }
  | { kind: 'fixed'; min: number[]; max: number[] };

/** The stretch actually applied, one min and max per converted band, so the inverse mapping is exact. */
export type RecordedStretch = Extract<Stretch, { kind: 'fixed' }>;

export const STRETCH_KINDS = ['dtype', 'minmax', 'percentile', 'fixed'] as const;

/** The percentiles used when a percentile stretch is asked for without its own. */
export const DEFAULT_PERCENTILES = { low: 0.1, high: 99.9 } as const;

/** 'dtype' for uint8; the 0.1..99.9 percentile for uint16, int16 and float32, which rarely use their whole range. */
export function defaultStretch(dtype: DType): Stretch {
  return dtype === 'uint8' ? { kind: 'dtype' } : { kind: 'percentile', ...DEFAULT_PERCENTILES };
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Validates a Stretch (INVALID_OPTION naming the field) for `channels` bands. */
export function checkStretch(stretch: unknown, channels: number, name = 'stretch'): asserts stretch is Stretch {
  const s = stretch as Partial<Record<string, unknown>> | null;
  if (typeof s !== 'object' || s === null || !STRETCH_KINDS.includes(s.kind as never)) {
    throw invalidOption(`${name}.kind`, `one of ${STRETCH_KINDS.map((k) => `'${k}'`).join(', ')}`, s?.kind ?? stretch);
  }
  if (s.kind === 'percentile') {
    const { low, high } = s;
    if (!isFiniteNumber(low) || low < 0 || low >= 100) throw invalidOption(`${name}.low`, 'a percentile in [0, 100)', low);
    if (!isFiniteNumber(high) || high <= low || high > 100) throw invalidOption(`${name}.high`, `a percentile in (${low}, 100]`, high);
  }
  if (s.kind === 'fixed') {
    for (const field of ['min', 'max'] as const) {
      const values = s[field];
      if (!Array.isArray(values) || (values.length !== channels && values.length !== 1) || !values.every(isFiniteNumber)) {
        throw invalidOption(`${name}.${field}`, `an array of 1 or ${channels} finite numbers (one per band)`, values);
      }
    }
    const min = s.min as number[];
    const max = s.max as number[];
    for (let c = 0; c < channels; c++) {
      if (max[max.length === 1 ? 0 : c]! < min[min.length === 1 ? 0 : c]!) {
        throw invalidOption(`${name}.max[${c}]`, `a value >= ${name}.min[${c}]`, max[max.length === 1 ? 0 : c]);
      }
    }
  }
}

/** A fixed stretch with exactly one min and max per channel (a single value is repeated). */
export function expandFixedStretch(stretch: RecordedStretch, channels: number): RecordedStretch {
  const pick = (values: number[], i: number) => values[values.length === 1 ? 0 : i]!;
  return {
    kind: 'fixed',
    min: Array.from({ length: channels }, (_, i) => pick(stretch.min, i)),
    max: Array.from({ length: channels }, (_, i) => pick(stretch.max, i)),
  };
}

/** Resolves a stretch into the per-band fixed form for the given bands of the raster. */
export function resolveStretch(raster: Raster, bands: readonly number[], stretch: Stretch): RecordedStretch {
  checkStretch(stretch, bands.length);
  const fallback = dtypeRange(raster.dtype) ?? [0, 1];
  switch (stretch.kind) {
    case 'fixed':
      return expandFixedStretch(stretch, bands.length);
    case 'dtype': {
      const range = dtypeRange(raster.dtype);
      if (!range) {
        throw new DiffusekitError('INVALID_OPTION', "Expected stretch 'minmax', 'percentile' or 'fixed' for a float32 raster but received 'dtype': float32 has no fixed range", {
          details: { option: 'stretch.kind', expected: "'minmax' | 'percentile' | 'fixed'" },
        });
      }
      return { kind: 'fixed', min: bands.map(() => range[0]), max: bands.map(() => range[1]) };
    }
    case 'minmax': {
      const stats = bands.map((band) => bandMinMax(raster, band) ?? { min: fallback[0], max: fallback[1] });
      return { kind: 'fixed', min: stats.map((s) => s.min), max: stats.map((s) => s.max) };
    }
    case 'percentile': {
      const stats = bands.map((band) => bandPercentiles(raster, band, [stretch.low, stretch.high]) ?? [fallback[0], fallback[1]]);
      return { kind: 'fixed', min: stats.map((s) => s[0]!), max: stats.map((s) => s[1]!) };
    }
  }
}
