import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import * as niftiReader from 'nifti-reader-js';
import { DiffusekitError } from '../errors.js';
import { toExactArrayBuffer } from '../codecs/input-bytes.js';
import { allocateSamples, bytesPerSample } from '../raster/dtype.js';
import type { DType } from '../raster/types.js';
import type { Affine, MedicalInfo, NiftiInfo, Volume, VolumeHeader } from './types.js';
import { valueRangeOf } from './volume.js';

const HEADER_BYTES = 348;
/** 348 header bytes plus the 4-byte extension flag: where the voxels of a single-file NIfTI-1 start at the earliest. */
const MIN_VOX_OFFSET = 352;

const DATATYPES: Record<number, DType> = { 2: 'uint8', 4: 'int16', 512: 'uint16', 16: 'float32' };
const CODES: Record<DType, { datatype: number; bitpix: number }> = {
  uint8: { datatype: 2, bitpix: 8 },
  int16: { datatype: 4, bitpix: 16 },
  uint16: { datatype: 512, bitpix: 16 },
  float32: { datatype: 16, bitpix: 32 },
};
const DATATYPE_NAMES: Record<number, string> = {
  1: 'binary', 8: 'int32', 32: 'complex64', 64: 'float64', 128: 'rgb24', 256: 'int8', 768: 'uint32', 1024: 'int64', 1280: 'uint64', 1536: 'float128', 1792: 'complex128', 2048: 'complex256', 2304: 'rgba32',
};

export function isGzip(view: Uint8Array): boolean {
  return view.length >= 2 && view[0] === 0x1f && view[1] === 0x8b;
}

/** True when the bytes start like a single-file NIfTI-1 (sizeof_hdr 348 in either byte order and the magic "n+1"). */
export function looksLikeNifti1(view: Uint8Array): boolean {
  if (view.length < HEADER_BYTES) return false;
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const size = dv.getInt32(0, true);
  if (size !== HEADER_BYTES && dv.getInt32(0, false) !== HEADER_BYTES) return false;
  return view[344] === 0x6e && (view[345] === 0x2b || view[345] === 0x69) && view[346] === 0x31 && view[347] === 0;
}

/**
 * The first bytes of a gzip stream, inflated from a bounded prefix of the compressed data, so that a header can be read
 * without inflating the whole file (and a bomb cannot make it allocate much).
 */
export function gunzipPrefix(view: Uint8Array, compressedBytes = 4096): Uint8Array {
  try {
    return gunzipSync(view.subarray(0, compressedBytes), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return new Uint8Array(0);
  }
}

function decodeFailed(message: string, details?: unknown): DiffusekitError {
  return new DiffusekitError('DECODE_FAILED', message, details === undefined ? {} : { details });
}

function rowsToAffine(rows: number[][]): Affine {
  return [...rows[0]!.slice(0, 4), ...rows[1]!.slice(0, 4), ...rows[2]!.slice(0, 4), 0, 0, 0, 1] as Affine;
}

interface ParsedHeader {
  header: VolumeHeader;
  littleEndian: boolean;
  voxOffset: number;
  dataBytes: number;
}

/** Reads and checks a NIfTI-1 header from (at least) its first 352 bytes: everything but the voxels. */
function parseHeader(head: Uint8Array): ParsedHeader {
  if (!looksLikeNifti1(head)) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', 'Not a single-file NIfTI-1 image (expected sizeof_hdr 348 and the magic "n+1"); NIfTI-2 and .hdr/.img pairs are not read', {
      details: { format: 'nifti' },
    });
  }
  let h: niftiReader.NIFTI1;
  try {
    h = niftiReader.readHeader(toExactArrayBuffer(head.subarray(0, Math.max(head.length, MIN_VOX_OFFSET)))) as niftiReader.NIFTI1;
  } catch (error) {
    throw decodeFailed(`The NIfTI header could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const dim = h.dims.slice(0, 8);
  const rank = dim[0]!;
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) throw decodeFailed(`The NIfTI header has dim[0] = ${rank}; expected 1 to 7`, { dim });
  for (let a = 1; a <= rank; a++) {
    if (!Number.isInteger(dim[a]) || dim[a]! < 1) throw decodeFailed(`The NIfTI header has dim[${a}] = ${dim[a]}; expected a positive size`, { dim });
  }
  const extra = dim.slice(4, rank + 1).reduce((p, d) => p * d, 1);
  if (extra > 1) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `The NIfTI image has ${extra} volumes (dim = ${dim.slice(0, rank + 1).join(', ')}); accepted: one 2-D or 3-D volume`, { details: { dim } });
  }
  const dtype = DATATYPES[h.datatypeCode];
  if (!dtype) {
    const name = DATATYPE_NAMES[h.datatypeCode] ?? `code ${h.datatypeCode}`;
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `NIfTI datatype ${name} is not read; accepted: uint8, int16, uint16, float32`, { details: { datatype: h.datatypeCode } });
  }
  if (h.numBitsPerVoxel !== CODES[dtype].bitpix) throw decodeFailed(`The NIfTI header says datatype ${dtype} but bitpix ${h.numBitsPerVoxel}`);
  const [width, height, depth] = [dim[1]!, rank >= 2 ? dim[2]! : 1, rank >= 3 ? dim[3]! : 1];
  const voxOffset = h.vox_offset;
  if (!Number.isInteger(voxOffset) || voxOffset < MIN_VOX_OFFSET) throw decodeFailed(`The NIfTI header has vox_offset ${voxOffset}; expected a whole number >= 352`);
  const pixdim = h.pixDims.slice(0, 8).map((v) => (Number.isFinite(v) ? v : 0));
  const spacing = [1, 2, 3].map((a) => (Math.abs(pixdim[a] ?? 0) > 0 ? Math.abs(pixdim[a]!) : 1)) as [number, number, number];
  const qfac = pixdim[0] === -1 ? -1 : 1;
  const qform = h.qform_code > 0
    ? rowsToAffine(h.convertNiftiQFormToNiftiSForm(h.quatern_b, h.quatern_c, h.quatern_d, h.qoffset_x, h.qoffset_y, h.qoffset_z, spacing[0], spacing[1], spacing[2], qfac))
    : undefined;
  const sform = h.sform_code > 0 ? rowsToAffine(h.affine) : undefined;
  // NIfTI's rule: the sform when it is set, else the qform, else voxel sizes alone (method 1).
  const affine = sform ?? qform ?? ([spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1] as Affine);
  const nifti: NiftiInfo = {
    dim,
    pixdim,
    datatype: h.datatypeCode,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    ...(qform ? { qform, quaternion: { b: h.quatern_b, c: h.quatern_c, d: h.quatern_d, qfac } } : {}),
    ...(sform ? { sform } : {}),
    xyztUnits: h.xyzt_units,
    description: h.description.replace(/\0.*$/s, ''),
  };
  const medical: MedicalInfo = {
    format: 'nifti',
    dims: [width, height, depth],
    spacing,
    affine,
    ...(h.scl_slope !== 0 && Number.isFinite(h.scl_slope) ? { rescale: { slope: h.scl_slope, intercept: Number.isFinite(h.scl_inter) ? h.scl_inter : 0 } } : {}),
    ...(h.cal_max > h.cal_min ? { window: { center: (h.cal_max + h.cal_min) / 2, width: h.cal_max - h.cal_min } } : {}),
    nifti,
  };
  const dataBytes = width * height * depth * bytesPerSample(dtype);
  return { header: { format: 'nifti', width, height, depth, dtype, medical }, littleEndian: h.littleEndian, voxOffset, dataBytes };
}

/** The uncompressed bytes a NIfTI header sits in: the file itself, or the first inflated bytes of a .nii.gz. */
function headBytes(view: Uint8Array): Uint8Array {
  return isGzip(view) ? gunzipPrefix(view) : view.subarray(0, 4096);
}

/** Size, dtype, spacing, affines and the rest of a NIfTI-1 header (.nii or .nii.gz), without reading the voxels. */
export function readNiftiHeader(view: Uint8Array): VolumeHeader {
  return parseHeader(headBytes(view)).header;
}

/**
 * Decodes a NIfTI-1 volume (.nii or .nii.gz). The header is checked first: the voxel count against `maxPixels`
 * (IMAGE_TOO_LARGE) and the file's length against what the header states (DECODE_FAILED), before the voxels are
 * inflated or allocated; a .nii.gz is inflated with a hard cap at the size the header states.
 */
export function decodeNifti(view: Uint8Array, maxPixels: number): Volume {
  const parsed = parseHeader(headBytes(view));
  const { header, voxOffset, dataBytes } = parsed;
  const voxels = header.width * header.height * header.depth;
  if (voxels > maxPixels) {
    throw new DiffusekitError('IMAGE_TOO_LARGE', `The NIfTI volume is ${header.width}x${header.height}x${header.depth} = ${voxels} voxels, more than the limit of ${maxPixels}; raise maxPixels if this input is trusted`, {
      details: { width: header.width, height: header.height, depth: header.depth, voxels, maxPixels },
    });
  }
  const needed = voxOffset + dataBytes;
  let bytes: Uint8Array;
  if (isGzip(view)) {
    try {
      bytes = gunzipSync(view, { maxOutputLength: needed });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw decodeFailed(`The .nii.gz inflates to more than the ${needed} bytes its header states (${header.width}x${header.height}x${header.depth} ${header.dtype} at offset ${voxOffset})`);
      }
      // A stream cut short still yields what it had; report the size mismatch below when it is the cause.
      try {
        bytes = gunzipSync(view, { maxOutputLength: needed, finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch {
        throw decodeFailed(`The .nii.gz data is corrupt: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } else {
    bytes = view;
  }
  if (bytes.length < needed) {
    throw decodeFailed(`The NIfTI header states ${header.width}x${header.height}x${header.depth} ${header.dtype} voxels at offset ${voxOffset} (${needed} bytes) but the data holds ${bytes.length} bytes`, {
      expectedBytes: needed,
      actualBytes: bytes.length,
    });
  }
  const data = allocateSamples(header.dtype, voxels);
  const size = bytesPerSample(header.dtype);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + voxOffset, dataBytes);
  const le = parsed.littleEndian;
  switch (header.dtype) {
    case 'uint8':
      data.set(bytes.subarray(voxOffset, voxOffset + dataBytes) as never);
      break;
    case 'int16':
      for (let i = 0; i < voxels; i++) data[i] = dv.getInt16(i * size, le);
      break;
    case 'uint16':
      for (let i = 0; i < voxels; i++) data[i] = dv.getUint16(i * size, le);
      break;
    case 'float32':
      for (let i = 0; i < voxels; i++) data[i] = dv.getFloat32(i * size, le);
      break;
  }
  return {
    width: header.width,
    height: header.height,
    depth: header.depth,
    dtype: header.dtype,
    data,
    medical: { ...header.medical, valueRange: valueRangeOf(data) },
  };
}

/** DICOM patient coordinates (LPS) and NIfTI world coordinates (RAS) differ by the sign of x and y. */
export function flipXY(affine: Affine): Affine {
  const out = [...affine] as Affine;
  for (let c = 0; c < 4; c++) {
    out[c] = -out[c]!;
    out[4 + c] = -out[4 + c]!;
  }
  return out;
}

function writeText(dv: DataView, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  for (let i = 0; i < Math.min(length - 1, bytes.length); i++) dv.setUint8(offset + i, bytes[i]!);
}

/**
 * Encodes a volume as single-file NIfTI-1 (little-endian, voxels at offset 352), gzip-compressed when `gzip` is set.
 * dim, pixdim, datatype, scl_slope/scl_inter, the sform and the qform come from the volume's medical metadata; a DICOM
 * source's patient (LPS) affine becomes a scanner-anatomical (RAS) sform.
 */
export function encodeNifti(volume: Volume, gzip: boolean): Buffer {
  const { width, height, depth, dtype } = volume;
  const medical = volume.medical;
  const code = CODES[dtype];
  const dataBytes = width * height * depth * bytesPerSample(dtype);
  const buffer = new ArrayBuffer(MIN_VOX_OFFSET + dataBytes);
  const dv = new DataView(buffer);
  const le = true;
  const n = medical.format === 'nifti' ? medical.nifti : undefined;
  dv.setInt32(0, HEADER_BYTES, le);
  dv.setUint8(38, 0x72); // regular = 'r'
  const dim = [depth > 1 ? 3 : 2, width, height, depth, 1, 1, 1, 1];
  dim.forEach((d, i) => dv.setInt16(40 + i * 2, d, le));
  dv.setInt16(70, code.datatype, le);
  dv.setInt16(72, code.bitpix, le);
  const qfac = n?.quaternion?.qfac ?? 1;
  const pixdim = [qfac, medical.spacing[0], medical.spacing[1], medical.spacing[2], n?.pixdim[4] ?? 0, n?.pixdim[5] ?? 0, n?.pixdim[6] ?? 0, n?.pixdim[7] ?? 0];
  pixdim.forEach((p, i) => dv.setFloat32(76 + i * 4, p, le));
  dv.setFloat32(108, MIN_VOX_OFFSET, le);
  dv.setFloat32(112, medical.rescale?.slope ?? 0, le);
  dv.setFloat32(116, medical.rescale?.intercept ?? 0, le);
  dv.setUint8(123, n?.xyztUnits ?? 2); // 2 = millimetres
  if (medical.window) {
    dv.setFloat32(124, medical.window.center + medical.window.width / 2, le);
    dv.setFloat32(128, medical.window.center - medical.window.width / 2, le);
  }
  writeText(dv, 148, 80, n?.description ?? (medical.modality ? `diffusekit from DICOM ${medical.modality}` : 'diffusekit'));
  // A NIfTI source keeps its own sform/qform (scaled with the image); any other volume writes its affine as the sform.
  const sform = medical.format !== 'nifti' ? flipXY(medical.affine) : n ? n.sform : medical.affine;
  const sformCode = medical.format !== 'nifti' || !n ? 1 : n.sformCode ?? 0;
  if (n?.qform && n.quaternion && n.qformCode > 0) {
    dv.setInt16(252, n.qformCode, le);
    dv.setFloat32(256, n.quaternion.b, le);
    dv.setFloat32(260, n.quaternion.c, le);
    dv.setFloat32(264, n.quaternion.d, le);
    dv.setFloat32(268, n.qform[3], le);
    dv.setFloat32(272, n.qform[7], le);
    dv.setFloat32(276, n.qform[11], le);
  }
  if (sform && sformCode > 0) {
    dv.setInt16(254, sformCode, le);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) dv.setFloat32(280 + r * 16 + c * 4, sform[r * 4 + c]!, le);
  }
  writeText(dv, 344, 4, 'n+1');
  const samples = new Uint8Array(buffer, MIN_VOX_OFFSET);
  const source = volume.data;
  if (dtype === 'uint8') samples.set(source as Uint8Array);
  else {
    const out = new DataView(buffer, MIN_VOX_OFFSET);
    const size = bytesPerSample(dtype);
    for (let i = 0; i < source.length; i++) {
      if (dtype === 'int16') out.setInt16(i * size, source[i]!, le);
      else if (dtype === 'uint16') out.setUint16(i * size, source[i]!, le);
      else out.setFloat32(i * size, source[i]!, le);
    }
  }
  const bytes = new Uint8Array(buffer);
  return gzip ? gzipSync(bytes) : Buffer.from(buffer);
}
