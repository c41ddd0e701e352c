import type { DType, DTypeArrays, RasterData } from './types.js';

export const DTYPES: readonly DType[] = ['uint8', 'uint16', 'int16', 'float32'];

const ARRAY_NAMES: Record<DType, string> = {
  uint8: 'Uint8Array',
  uint16: 'Uint16Array',
  int16: 'Int16Array',
  float32: 'Float32Array',
};

const INTEGER_RANGES: Record<Exclude<DType, 'float32'>, readonly [number, number]> = {
  uint8: [0, 255],
  uint16: [0, 65535],
  int16: [-32768, 32767],
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function isIntegerDType(dtype: DType): dtype is Exclude<DType, 'float32'> {
  return dtype !== 'float32';
}

/** Smallest and largest value of an integer dtype; undefined for float32, which has no fixed range. */
export function dtypeRange(dtype: DType): readonly [number, number] | undefined {
  return isIntegerDType(dtype) ? INTEGER_RANGES[dtype] : undefined;
}

export function bytesPerSample(dtype: DType): number {
  return dtype === 'uint8' ? 1 : dtype === 'float32' ? 4 : 2;
}

export function allocateSamples<D extends DType>(dtype: D, length: number): DTypeArrays[D] {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(length) as DTypeArrays[D];
    case 'uint16':
      return new Uint16Array(length) as DTypeArrays[D];
    case 'int16':
      return new Int16Array(length) as DTypeArrays[D];
    default:
      return new Float32Array(length) as DTypeArrays[D];
  }
}

/** The name of a typed array's kind, robust across realms and for Buffer (which reports Uint8Array). */
export function typedArrayKind(value: unknown): string | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  return Object.prototype.toString.call(value).slice(8, -1);
}

export function arrayNameFor(dtype: DType): string {
  return ARRAY_NAMES[dtype];
}

export function isDataOfDType(data: unknown, dtype: DType): data is RasterData {
  return typedArrayKind(data) === ARRAY_NAMES[dtype];
}

/** True when `value` fits `dtype`: any number for float32 (compared after rounding to float32), integers in range otherwise. */
export function isRepresentable(value: number, dtype: DType): boolean {
  if (dtype === 'float32') return true;
  const [lo, hi] = INTEGER_RANGES[dtype];
  return Number.isInteger(value) && value >= lo && value <= hi;
}

/** Rounds (integer dtypes) and clamps a value into what `dtype` can hold. */
export function toDTypeValue(value: number, dtype: DType): number {
  if (dtype === 'float32') return value;
  const [lo, hi] = INTEGER_RANGES[dtype];
  if (Number.isNaN(value)) return lo;
  const rounded = Math.round(value);
  return rounded < lo ? lo : rounded > hi ? hi : rounded;
}
