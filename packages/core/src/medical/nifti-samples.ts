import { DiffusekitError } from '../errors.js';
import { allocateSamples } from '../raster/dtype.js';
import type { DType } from '../raster/types.js';
import type { Volume } from './types.js';

/** A NIfTI datatype as it is stored, and the raster dtype and bands it is read into. */
export interface StoredSamples {
  datatype: number;
  name: string;
  bitpix: number;
  /** Bytes of one voxel on disk, all its bands. */
  bytes: number;
  dtype: DType;
  bands: 1 | 3;
}

type Reader = (dv: DataView, offset: number, littleEndian: boolean) => number;

/**
 * The datatypes read. Those without a raster dtype of their own widen without loss (int8 into int16) or go to float32:
 * exact for integers up to 2^24 in magnitude (label maps, counts), float64 rounded to float32's 24-bit mantissa.
 * RGB24 (three bytes a voxel) becomes a 3-band uint8 volume.
 */
const STORED: Record<number, StoredSamples & { read?: Reader }> = {
  2: { datatype: 2, name: 'uint8', bitpix: 8, bytes: 1, dtype: 'uint8', bands: 1 },
  4: { datatype: 4, name: 'int16', bitpix: 16, bytes: 2, dtype: 'int16', bands: 1 },
  512: { datatype: 512, name: 'uint16', bitpix: 16, bytes: 2, dtype: 'uint16', bands: 1 },
  16: { datatype: 16, name: 'float32', bitpix: 32, bytes: 4, dtype: 'float32', bands: 1 },
  128: { datatype: 128, name: 'rgb24', bitpix: 24, bytes: 3, dtype: 'uint8', bands: 3 },
  // Widened on reading, one sample at a time through their reader.
  256: { datatype: 256, name: 'int8', bitpix: 8, bytes: 1, dtype: 'int16', bands: 1, read: (dv, o) => dv.getInt8(o) },
  8: { datatype: 8, name: 'int32', bitpix: 32, bytes: 4, dtype: 'float32', bands: 1, read: (dv, o, le) => dv.getInt32(o, le) },
  768: { datatype: 768, name: 'uint32', bitpix: 32, bytes: 4, dtype: 'float32', bands: 1, read: (dv, o, le) => dv.getUint32(o, le) },
  1024: { datatype: 1024, name: 'int64', bitpix: 64, bytes: 8, dtype: 'float32', bands: 1, read: (dv, o, le) => Number(dv.getBigInt64(o, le)) },
  1280: { datatype: 1280, name: 'uint64', bitpix: 64, bytes: 8, dtype: 'float32', bands: 1, read: (dv, o, le) => Number(dv.getBigUint64(o, le)) },
  64: { datatype: 64, name: 'float64', bitpix: 64, bytes: 8, dtype: 'float32', bands: 1, read: (dv, o, le) => dv.getFloat64(o, le) },
};

const NOT_READ: Record<number, string> = {
  1: 'binary', 32: 'complex64', 1536: 'float128', 1792: 'complex128', 2048: 'complex256', 2304: 'rgba32',
};

export const READ_DATATYPES = Object.values(STORED).map((s) => s.name);

/** How a header's datatype and bitpix are stored: UNSUPPORTED_FORMAT for a datatype not read, DECODE_FAILED for a bitpix that contradicts it. */
export function storedSamplesOf(datatype: number, bitpix: number): StoredSamples {
  const stored = STORED[datatype];
  if (!stored) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `NIfTI datatype ${NOT_READ[datatype] ?? `code ${datatype}`} is not read; accepted: ${READ_DATATYPES.join(', ')}`, { details: { datatype } });
  }
  if (bitpix !== stored.bitpix) throw new DiffusekitError('DECODE_FAILED', `The NIfTI header says datatype ${stored.name} but bitpix ${bitpix}`, { details: { datatype, bitpix } });
  return stored;
}

/**
 * One 3-D volume's stored samples (either byte order) as volume data of the datatype's dtype. RGB24 triplets become the
 * volume's planar colour layout (each slice along k as its three bands one after another).
 */
export function decodeStoredSamples(stored: StoredSamples, samples: Uint8Array, shape: { width: number; height: number; depth: number }, littleEndian: boolean): Volume['data'] {
  const { read } = STORED[stored.datatype]!;
  const voxels = shape.width * shape.height * shape.depth;
  const data = allocateSamples(stored.dtype, voxels * stored.bands);
  if (stored.datatype === 2) {
    data.set(samples.subarray(0, voxels) as never);
    return data;
  }
  const dv = new DataView(samples.buffer, samples.byteOffset, voxels * stored.bytes);
  if (stored.bands === 3) {
    const plane = shape.width * shape.height;
    for (let k = 0; k < shape.depth; k++) {
      for (let p = 0; p < plane; p++) {
        const at = (k * plane + p) * 3;
        for (let b = 0; b < 3; b++) data[(k * 3 + b) * plane + p] = dv.getUint8(at + b);
      }
    }
    return data;
  }
  // The stored dtypes inline (the hot path of every volume read); the widened ones through their reader.
  if (stored.datatype === 4) for (let i = 0; i < voxels; i++) data[i] = dv.getInt16(i * 2, littleEndian);
  else if (stored.datatype === 512) for (let i = 0; i < voxels; i++) data[i] = dv.getUint16(i * 2, littleEndian);
  else if (stored.datatype === 16) for (let i = 0; i < voxels; i++) data[i] = dv.getFloat32(i * 4, littleEndian);
  else for (let i = 0; i < voxels; i++) data[i] = read!(dv, i * stored.bytes, littleEndian);
  return data;
}

/** The datatype a volume is written as: its own dtype, or RGB24 for 3-band uint8. ENCODE_FAILED for other colour volumes. */
export function storedSamplesFor(volume: Pick<Volume, 'dtype' | 'bands'>): StoredSamples {
  const bands = volume.bands ?? 1;
  const match = Object.values(STORED).find((s) => s.dtype === volume.dtype && s.bands === bands && (bands === 3 || s.name === volume.dtype));
  if (!match) {
    throw new DiffusekitError('ENCODE_FAILED', `NIfTI output holds one band per voxel, or RGB24 (3 bands of uint8); this volume has ${bands} bands of ${volume.dtype}. Write it as DICOM, or slices as PNG or TIFF`, {
      details: { format: 'nifti', bands, dtype: volume.dtype },
    });
  }
  return match;
}

/** A volume's voxels as NIfTI stores them after the header: little-endian samples, RGB24 as triplets. */
export function encodeStoredSamples(volume: Volume): Uint8Array {
  const stored = storedSamplesFor(volume);
  const { width, height, depth } = volume;
  const source = volume.data;
  const voxels = width * height * depth;
  const buffer = new ArrayBuffer(voxels * stored.bytes);
  const bytes = new Uint8Array(buffer);
  if (stored.datatype === 2) {
    bytes.set(source as Uint8Array);
    return bytes;
  }
  if (stored.bands === 3) {
    const plane = width * height;
    for (let k = 0; k < depth; k++) {
      for (let p = 0; p < plane; p++) {
        const at = (k * plane + p) * 3;
        for (let b = 0; b < 3; b++) bytes[at + b] = source[(k * 3 + b) * plane + p]!;
      }
    }
    return bytes;
  }
  const out = new DataView(buffer);
  for (let i = 0; i < voxels; i++) {
    if (stored.dtype === 'int16') out.setInt16(i * 2, source[i]!, true);
    else if (stored.dtype === 'uint16') out.setUint16(i * 2, source[i]!, true);
    else out.setFloat32(i * 4, source[i]!, true);
  }
  return bytes;
}
