import { UsageError } from './usage-error.js';

/** A whole number flag value, at least `min`. */
export function parseCount(flag: string, value: unknown, min = 1): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Expected an integer ≥ ${min} for ${flag} but received ${JSON.stringify(value)}`);
  }
  return n;
}

/** A comma-separated list of 0-based indices, e.g. "3,2,1". */
export function parseIndexList(flag: string, value: string): number[] {
  if (!/^\d+(,\d+)*$/.test(value)) throw new UsageError(`Expected comma-separated band indices for ${flag} (e.g. 0,1,2) but received ${JSON.stringify(value)}`);
  return value.split(',').map(Number);
}
