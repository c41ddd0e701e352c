import { DiffusekitError, invalidOption } from '../errors.js';
import { createRaster } from './create-raster.js';
import { allocateSamples, DTYPES, dtypeRange, isDType } from './dtype.js';
import { nodataMatcher } from './nodata-mask.js';
import { checkBandIndices } from './select-bands.js';
import { checkStretch, defaultStretch, expandFixedStretch, resolveStretch } from './stretch.js';
import type { RecordedStretch, Stretch } from './stretch.js';
import type { DType, GeoInfo, Raster, RasterData } from './types.js';
import type { ImageFormat } from '../codecs/types.js';

export interface RasterToTensorOptions {
  /** 0-based bands to convert, in order; all bands when left out. */
  bands?: number[];
  /** The model's input range, e.g. [-1, 1] or [0, 1]. */
  range: [number, number];
  /** Defaults to 'dtype' for uint8 and the 0.1..99.9 percentile otherwise. */
  stretch?: Stretch;
}

/** A float32 tensor of one image and the stretch that produced it (pass it to tensorToRaster to map back). */
export interface RasterTensor {
  /** Planar samples, channel by channel: the memory layout of an NCHW tensor with N = 1. */
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
  /** [1, channels, height, width]: the shape to feed a network with `data`. */
  dims: [1, number, number, number];
  stretch: RecordedStretch;
}

export interface TensorToRasterOptions {
  width: number;
  height: number;
  channels: number;
  /** The range the tensor's values live in, the same one given to rasterToTensor. */
  range: [number, number];
  /** The recorded stretch returned by rasterToTensor (one min and max per channel). */
  stretch: RecordedStretch;
  dtype: DType;
  nodata?: number;
  /** One byte per pixel, 1 where the output should hold `nodata` (e.g. nodataMask of the input). */
  nodataMask?: Uint8Array;
  geo?: GeoInfo;
  bandNames?: string[];
  sourceFormat?: ImageFormat;
}

function checkRange(range: unknown): asserts range is [number, number] {
  if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v)) || range[0] >= range[1]) {
    throw invalidOption('range', 'a pair [lo, hi] of finite numbers with lo < hi', range);
  }
}

/**
 * Converts (some bands of) a raster into a float32 CHW tensor in `range`, stretching each band by `stretch`. Samples
 * outside the stretch are clipped to the range; nodata and NaN samples become the range's low end.
 */
export function rasterToTensor(raster: Raster, options: RasterToTensorOptions): RasterTensor {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object with at least range', options);
  checkRange(options.range);
  const bands = options.bands ?? Array.from({ length: raster.bands }, (_, i) => i);
  checkBandIndices(raster, bands);
  const stretch = resolveStretch(raster, bands, options.stretch ?? defaultStretch(raster.dtype));
  const [lo, hi] = options.range;
  const plane = raster.width * raster.height;
  const data = new Float32Array(plane * bands.length);
  const isNodata = nodataMatcher(raster);
  bands.forEach((band, c) => {
    const min = stretch.min[c]!;
    const span = stretch.max[c]! - min;
    const scale = span > 0 ? (hi - lo) / span : 0;
    const source = raster.data.subarray(band * plane, (band + 1) * plane);
    const target = data.subarray(c * plane, (c + 1) * plane);
    for (let i = 0; i < plane; i++) {
      const v = source[i]!;
      if (Number.isNaN(v) || (isNodata?.(v) ?? false)) {
        target[i] = lo;
        continue;
      }
      const x = lo + (v - min) * scale;
      target[i] = x < lo ? lo : x > hi ? hi : x;
    }
  });
  return { data, channels: bands.length, height: raster.height, width: raster.width, dims: [1, bands.length, raster.height, raster.width], stretch };
}

/**
 * target[i] = offset + (source[i] - lo) * scale, rounded and clamped for integer dtypes exactly as toDTypeValue does
 * (NaN becomes the low end); one loop per dtype so the per-pixel work has no dtype dispatch.
 */
function writeScaled(target: RasterData, source: Float32Array, offset: number, lo: number, scale: number, dtype: DType): void {
  const range = dtypeRange(dtype);
  if (range === undefined) {
    for (let i = 0; i < source.length; i++) target[i] = offset + (source[i]! - lo) * scale;
    return;
  }
  const [low, high] = range;
  for (let i = 0; i < source.length; i++) {
    const rounded = Math.round(offset + (source[i]! - lo) * scale);
    target[i] = rounded >= low ? (rounded <= high ? rounded : high) : low;
  }
}

/**
 * Maps a float32 CHW tensor back to a raster: the inverse of rasterToTensor's stretch, then rounding (integer dtypes)
 * and clamping to the dtype. With the recorded stretch, uint8/uint16 values inside the stretch come back exactly.
 */
export function tensorToRaster(tensor: Float32Array, options: TensorToRasterOptions): Raster {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const { width, height, channels, dtype } = options;
  for (const [name, value] of [['width', width], ['height', height], ['channels', channels]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw invalidOption(name, 'a positive integer', value);
  }
  if (!isDType(dtype)) throw invalidOption('dtype', `one of ${DTYPES.join(', ')}`, dtype);
  checkRange(options.range);
  checkStretch(options.stretch, channels);
  if (options.stretch.kind !== 'fixed') throw invalidOption('stretch.kind', "'fixed' (the stretch recorded by rasterToTensor)", options.stretch.kind);
  const plane = width * height;
  if (!(tensor instanceof Float32Array) && Object.prototype.toString.call(tensor) !== '[object Float32Array]') {
    throw invalidOption('tensor', 'a Float32Array', tensor);
  }
  if (tensor.length !== plane * channels) {
    throw new DiffusekitError('INVALID_ARGUMENT', `Expected a tensor of ${plane * channels} values (channels ${channels} x height ${height} x width ${width}) but received ${tensor.length}`, {
      details: { expected: plane * channels, received: tensor.length },
    });
  }
  const mask = options.nodataMask;
  if (mask !== undefined && (!(mask instanceof Uint8Array) || mask.length !== plane)) {
    throw invalidOption('nodataMask', `a Uint8Array of ${plane} values (one per pixel)`, mask);
  }
  if (mask !== undefined && options.nodata === undefined) throw invalidOption('nodata', 'a value to write where nodataMask is 1', undefined);

  const { min, max } = expandFixedStretch(options.stretch, channels);
  const [lo, hi] = options.range;
  const data = allocateSamples(dtype, plane * channels);
  for (let c = 0; c < channels; c++) {
    const offset = min[c]!;
    const scale = (max[c]! - offset) / (hi - lo);
    const source = tensor.subarray(c * plane, (c + 1) * plane);
    const target = data.subarray(c * plane, (c + 1) * plane);
    writeScaled(target, source, offset, lo, scale, dtype);
    if (mask) for (let i = 0; i < plane; i++) if (mask[i]) target[i] = options.nodata!;
  }
  return createRaster({
    width,
    height,
    bands: channels,
    dtype,
    data,
    ...(options.nodata !== undefined && { nodata: options.nodata }),
    ...(options.geo !== undefined && { geo: options.geo }),
    ...(options.bandNames !== undefined && { bandNames: options.bandNames }),
    ...(options.sourceFormat !== undefined && { sourceFormat: options.sourceFormat }),
  });
}
