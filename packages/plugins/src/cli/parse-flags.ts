import type { VolumeAxis } from '@diffusekit/core';
import { UsageError } from './usage-error.js';

/** A whole number flag value, at least `min`. */
export function parseCount(flag: string, value: unknown, min = 1): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    const expected = min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
    throw new UsageError(`Expected ${expected} for ${flag} but received ${JSON.stringify(value)}`);
  }
  return n;
}

export function parsePositiveInteger(flag: string, value: unknown): number {
  return parseCount(flag, value, 1);
}

/** A comma-separated list of 0-based indices, e.g. "3,2,1". */
export function parseIndexList(flag: string, value: string): number[] {
  if (!/^\d+(,\d+)*$/.test(value)) throw new UsageError(`Expected comma-separated indices for ${flag} (e.g. 0,1,2) but received ${JSON.stringify(value)}`);
  return value.split(',').map(Number);
}

/** --axis i|j|k (or 0|1|2): the voxel axis DICOM/NIfTI volumes are sliced across. */
export function parseAxis(flag: string, value: unknown): VolumeAxis {
  const index = ['i', 'j', 'k', '0', '1', '2'].indexOf(String(value));
  if (index < 0) throw new UsageError(`Expected i, j or k (or 0, 1, 2) for ${flag} but received ${JSON.stringify(value)}`);
  return (index % 3) as VolumeAxis;
}
