import { constants as zlibConstants, createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import * as niftiReader from 'nifti-reader-js';
import { DiffusekitError, invalidOption, throwIfAborted } from '../errors.js';
import { toExactArrayBuffer } from '../codecs/input-bytes.js';
import { decodeStoredSamples, encodeStoredSamples, storedSamplesFor, storedSamplesOf, type StoredSamples } from './nifti-samples.js';
import type { Affine, MedicalInfo, NiftiInfo, Volume, VolumeHeader } from './types.js';
import { valueRangeOf } from './volume.js';

/** sizeof_hdr of NIfTI-1, the same 348 bytes as the ANALYZE 7.5 header it grew from. */
export const HEADER_BYTES = 348;
/** 348 header bytes plus the 4-byte extension flag: where the voxels of a single-file NIfTI-1 start at the earliest. */
const MIN_VOX_OFFSET = 352;
const NIFTI2_HEADER_BYTES = 540;
/** The same for NIfTI-2 (540 header bytes with 64-bit sizes and double transforms). */
const NIFTI2_MIN_VOX_OFFSET = 544;

export function isGzip(view: Uint8Array): boolean {
  return view.length >= 2 && view[0] === 0x1f && view[1] === 0x8b;
}

/**
 * 1 or 2 when the bytes start like a NIfTI-1 or NIfTI-2 header: sizeof_hdr 348 or 540 in either byte order and the
 * magic of that version ("n+1" / "ni1" at byte 344, "n+2" / "ni2" at byte 4); undefined otherwise.
 */
export function niftiVersion(view: Uint8Array): 1 | 2 | undefined {
  if (view.length < HEADER_BYTES) return undefined;
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const sized = (n: number) => dv.getInt32(0, true) === n || dv.getInt32(0, false) === n;
  const magic = (at: number, version: number) => view[at] === 0x6e && (view[at + 1] === 0x2b || view[at + 1] === 0x69) && view[at + 2] === 0x30 + version && view[at + 3] === 0;
  if (sized(HEADER_BYTES) && magic(344, 1)) return 1;
  if (view.length >= NIFTI2_HEADER_BYTES && sized(NIFTI2_HEADER_BYTES) && magic(4, 2)) return 2;
  return undefined;
}

/**
 * Whether a NIfTI header is that of a pair (.hdr beside an .img holding the voxels): the magic "ni1" / "ni2" instead of
 * "n+1" / "n+2".
 */
export function isNiftiPairHeader(view: Uint8Array): boolean {
  const version = niftiVersion(view);
  return version !== undefined && view[version === 1 ? 345 : 5] === 0x69;
}

/**
 * A NIfTI pair (.hdr and the .img it describes) as the bytes of the equivalent single file: the header with the
 * single-file magic and the voxels right after it (at 352 or 544; the pair's vox_offset is where they start in the
 * .img). The header is otherwise kept byte for byte; an .img shorter than its header states is caught when decoding.
 * Without `img`, the header alone (enough for readNiftiHeader).
 */
export function joinNiftiPair(hdr: Uint8Array, img?: Uint8Array): Uint8Array {
  const version = niftiVersion(hdr);
  if (version === undefined || !isNiftiPairHeader(hdr)) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', 'Not the header of a NIfTI pair (expected the magic "ni1" or "ni2")', { details: { format: 'nifti' } });
  }
  const headerBytes = version === 1 ? HEADER_BYTES : NIFTI2_HEADER_BYTES;
  const voxOffset = version === 1 ? MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET;
  if (hdr.length < headerBytes) throw decodeFailed(`The NIfTI-${version} pair header is ${hdr.length} bytes, shorter than ${headerBytes}`);
  const out = new Uint8Array(voxOffset + (img?.length ?? 0));
  out.set(hdr.subarray(0, headerBytes));
  const dv = new DataView(out.buffer);
  const littleEndian = dv.getInt32(0, true) === headerBytes;
  // Where the voxels start in the .img (vox_offset: float32 at 108 in NIfTI-1, int64 at 168 in NIfTI-2).
  const imgOffset = version === 1 ? dv.getFloat32(108, littleEndian) : Number(dv.getBigInt64(168, littleEndian));
  if (!Number.isInteger(imgOffset) || imgOffset < 0 || (img && imgOffset > img.length)) throw decodeFailed(`The NIfTI pair header has vox_offset ${imgOffset}, outside its ${img?.length ?? 0}-byte .img`);
  if (version === 1) dv.setFloat32(108, voxOffset, littleEndian);
  else dv.setBigInt64(168, BigInt(voxOffset), littleEndian);
  out[version === 1 ? 345 : 5] = 0x2b; // "ni1" -> "n+1", "ni2" -> "n+2"
  if (!img) return out.subarray(0, voxOffset);
  out.set(img.subarray(imgOffset), voxOffset);
  return out.subarray(0, voxOffset + img.length - imgOffset);
}

export function looksLikeNifti(view: Uint8Array): boolean {
  return niftiVersion(view) !== undefined;
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
  /** How the voxels are stored (datatype, bytes a voxel) and what they are read into. */
  stored: StoredSamples;
  littleEndian: boolean;
  voxOffset: number;
  /** Bytes of one 3-D volume. */
  volumeBytes: number;
  /** 3-D volumes stored one after another (the product of dim[4..dim[0]]). */
  volumes: number;
}

/** Reads and checks a NIfTI-1 or NIfTI-2 header from (at least) its first 352 or 544 bytes: everything but the voxels. */
function parseHeader(head: Uint8Array): ParsedHeader {
  const version = niftiVersion(head);
  if (version === undefined) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', 'Not a NIfTI-1 or NIfTI-2 image (expected sizeof_hdr 348 and the magic "n+1" or "ni1", or 540 and "n+2" or "ni2")', {
      details: { format: 'nifti' },
    });
  }
  if (isNiftiPairHeader(head)) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', 'These bytes are the .hdr of a NIfTI pair: its voxels are in the .img file beside it. Read the pair by path (readImageFile, the CLI), or send a single-file .nii / .nii.gz', {
      details: { format: 'nifti', pair: true },
    });
  }
  const minVoxOffset = version === 1 ? MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET;
  if (head.length < minVoxOffset) throw decodeFailed(`The NIfTI-${version} file is ${head.length} bytes, shorter than its ${minVoxOffset}-byte header`);
  let h: niftiReader.NIFTI1 | niftiReader.NIFTI2;
  try {
    h = niftiReader.readHeader(toExactArrayBuffer(head));
  } catch (error) {
    throw decodeFailed(`The NIfTI header could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const dim = h.dims.slice(0, 8);
  const rank = dim[0]!;
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) throw decodeFailed(`The NIfTI header has dim[0] = ${rank}; expected 1 to 7`, { dim });
  for (let a = 1; a <= rank; a++) {
    if (!Number.isInteger(dim[a]) || dim[a]! < 1) throw decodeFailed(`The NIfTI header has dim[${a}] = ${dim[a]}; expected a positive size`, { dim });
  }
  // dim[4..7] (time points, diffusion directions, echoes...) are stored as consecutive 3-D volumes.
  const volumes = dim.slice(4, rank + 1).reduce((p, d) => p * d, 1);
  const stored = storedSamplesOf(h.datatypeCode, h.numBitsPerVoxel);
  const { dtype } = stored;
  const [width, height, depth] = [dim[1]!, rank >= 2 ? dim[2]! : 1, rank >= 3 ? dim[3]! : 1];
  const voxOffset = h.vox_offset;
  if (!Number.isInteger(voxOffset) || voxOffset < minVoxOffset) throw decodeFailed(`The NIfTI header has vox_offset ${voxOffset}; expected a whole number >= ${minVoxOffset}`);
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
    version,
    dim,
    volumes,
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
  const volumeBytes = width * height * depth * stored.bytes;
  const header: VolumeHeader = { format: 'nifti', width, height, depth, ...(stored.bands > 1 ? { bands: stored.bands } : {}), dtype, medical };
  return { header, stored, littleEndian: h.littleEndian, voxOffset, volumeBytes, volumes };
}

/** The uncompressed bytes a NIfTI header sits in: the file itself, or the first inflated bytes of a .nii.gz. */
function headBytes(view: Uint8Array): Uint8Array {
  return isGzip(view) ? gunzipPrefix(view) : view.subarray(0, 4096);
}

/** Size, dtype, spacing, affines and the rest of a NIfTI-1 or NIfTI-2 header (.nii or .nii.gz), without reading the voxels. */
export function readNiftiHeader(view: Uint8Array): VolumeHeader {
  return parseHeader(headBytes(view)).header;
}

/** IMAGE_TOO_LARGE when one volume has more voxels than `maxPixels`. */
function checkVoxelLimit(header: VolumeHeader, maxPixels: number): void {
  const voxels = header.width * header.height * header.depth;
  if (voxels > maxPixels) {
    throw new DiffusekitError('IMAGE_TOO_LARGE', `The NIfTI volume is ${header.width}x${header.height}x${header.depth} = ${voxels} voxels, more than the limit of ${maxPixels}; raise maxPixels if this input is trusted`, {
      details: { width: header.width, height: header.height, depth: header.depth, voxels, maxPixels },
    });
  }
}

/** What the header states the voxels are, for messages: "3 volumes of 64x64x30 int16" or "64x64x30 int16". */
function statedShape(parsed: ParsedHeader): string {
  const { header, volumes } = parsed;
  return `${volumes > 1 ? `${volumes} volumes of ` : ''}${header.width}x${header.height}x${header.depth} ${header.dtype}`;
}

/** DECODE_FAILED: the data ends before the header says it does. */
function dataTooShort(parsed: ParsedHeader, available: number): DiffusekitError {
  const stated = parsed.voxOffset + parsed.volumes * parsed.volumeBytes;
  return decodeFailed(`The NIfTI header states ${statedShape(parsed)} voxels at offset ${parsed.voxOffset} (${stated} bytes) but the data holds ${available} bytes`, {
    expectedBytes: stated,
    actualBytes: available,
  });
}

/** DECODE_FAILED: the gzip stream goes on past what the header states. */
function streamTooLong(parsed: ParsedHeader): DiffusekitError {
  const stated = parsed.voxOffset + parsed.volumes * parsed.volumeBytes;
  return decodeFailed(`The .nii.gz inflates to more than the ${stated} bytes its header states (${statedShape(parsed)} at offset ${parsed.voxOffset})`);
}

/** Volume `index` of a parsed file from its stored samples. */
function volumeOf(parsed: ParsedHeader, samples: Uint8Array, index: number): Volume {
  const { header, volumes } = parsed;
  const data = decodeStoredSamples(parsed.stored, samples, header, parsed.littleEndian);
  const nifti = volumes > 1 ? { nifti: { ...header.medical.nifti!, volumeIndex: index } } : {};
  const bands = header.bands ? { bands: header.bands } : {};
  return { width: header.width, height: header.height, depth: header.depth, ...bands, dtype: header.dtype, data, medical: { ...header.medical, ...nifti, valueRange: valueRangeOf(data) } };
}

export interface NiftiDecodeOptions {
  /**
   * Which 3-D volume of a file that holds several (dim[4..7] > 1: fMRI time points, diffusion directions, echoes), from 0
   * in storage order. Required for such files; a file of one volume accepts only 0.
   */
  volumeIndex?: number;
}

/** Which stored volume to read: the option checked against the count the header states. */
export function chooseNiftiVolume(volumes: number, dim: number[], volumeIndex: number | undefined): number {
  const accepted = volumes === 1 ? '0 (the file holds one volume)' : `an integer in [0, ${volumes - 1}]`;
  if (volumeIndex === undefined) {
    if (volumes === 1) return 0;
    throw new DiffusekitError('INVALID_OPTION', `The NIfTI image holds ${volumes} volumes (dim = ${dim.slice(0, dim[0]! + 1).join(', ')}); choose one with volumeIndex (--volume N in the CLI, or --volume all to run each), ${accepted}`, {
      details: { option: 'volumeIndex', expected: accepted, volumes, dim },
    });
  }
  if (!Number.isInteger(volumeIndex) || volumeIndex < 0 || volumeIndex >= volumes) throw invalidOption('volumeIndex', accepted, volumeIndex);
  return volumeIndex;
}

/**
 * The stored bytes of volumes `first`, `first + 1`, ... of a NIfTI file, one at a time. A .nii.gz is inflated in 1 MiB
 * chunks and only the volume being filled is kept (earlier ones are skipped uncopied), so a long series costs one volume
 * of memory and a bomb cannot make it allocate more; the last volume is handed out only once the stream has ended, so
 * that a stream longer than the header states is caught first. Stopping early (a consumer's `return`) stops inflating.
 */
async function* storedVolumes(view: Uint8Array, parsed: ParsedHeader, first: number, signal?: AbortSignal): AsyncGenerator<{ index: number; samples: Uint8Array }> {
  const { volumeBytes, volumes, voxOffset } = parsed;
  const stated = voxOffset + volumes * volumeBytes;
  if (!isGzip(view)) {
    for (let t = first; t < volumes; t++) {
      throwIfAborted(signal);
      const start = voxOffset + t * volumeBytes;
      if (view.length < start + volumeBytes) throw dataTooShort(parsed, view.length);
      yield { index: t, samples: view.subarray(start, start + volumeBytes) };
    }
    return;
  }
  const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH, chunkSize: 1 << 20 });
  gunzip.end(view);
  let inflated = 0;
  let t = first;
  let current = new Uint8Array(volumeBytes);
  let filled = 0;
  const skipTo = voxOffset + first * volumeBytes;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      throwIfAborted(signal);
      // Skip the header and the volumes before `first`, then fill volumes one after another.
      let at = inflated < skipTo ? Math.min(chunk.length, skipTo - inflated) : 0;
      inflated += chunk.length;
      while (at < chunk.length && filled < volumeBytes) {
        const take = Math.min(chunk.length - at, volumeBytes - filled);
        current.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === volumeBytes && t < volumes - 1) {
          yield { index: t, samples: current };
          t++;
          current = new Uint8Array(volumeBytes);
          filled = 0;
        }
      }
      // Checked once the earlier volumes of this chunk are out: only the last volume waits for the whole stream.
      if (inflated > stated) throw streamTooLong(parsed);
    }
  } catch (error) {
    if (error instanceof DiffusekitError) throw error;
    // A stream cut short yields what it had (the size check below names the shortfall); other errors mean corruption.
    if ((error as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') throw decodeFailed(`The .nii.gz data is corrupt: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    gunzip.destroy();
  }
  if (t < volumes - 1 || filled < volumeBytes) throw dataTooShort(parsed, Math.min(inflated, stated));
  yield { index: t, samples: current };
}

/**
 * Decodes a NIfTI-1 or NIfTI-2 volume (.nii or .nii.gz); of a file with several 3-D volumes, the one `volumeIndex`
 * names. The header is checked first: the voxel count of one volume against `maxPixels` (IMAGE_TOO_LARGE) and the
 * file's length against what the header states (DECODE_FAILED), before the voxels are inflated or allocated; a .nii.gz
 * is inflated in chunks up to the chosen volume, keeping only its bytes.
 */
export async function decodeNifti(view: Uint8Array, maxPixels: number, options: NiftiDecodeOptions = {}): Promise<Volume> {
  const parsed = parseHeader(headBytes(view));
  const index = chooseNiftiVolume(parsed.volumes, parsed.header.medical.nifti!.dim, options.volumeIndex);
  checkVoxelLimit(parsed.header, maxPixels);
  for await (const stored of storedVolumes(view, parsed, index)) return volumeOf(parsed, stored.samples, stored.index);
  throw new Error('unreachable: storedVolumes yields the chosen volume or throws');
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

/** NIfTI-1 stores sizes as int16. */
const MAX_NIFTI1_DIM = 32767;

/**
 * Encodes a volume as a single-file NIfTI (little-endian, voxels right after the header), gzip-compressed when `gzip`
 * is set: NIfTI-2 (540-byte header, voxels at 544) for a NIfTI-2 source or a size over NIfTI-1's 32 767 voxels per
 * axis, NIfTI-1 (voxels at 352) otherwise.
 * The header is serialised by nifti-reader-js; dim, pixdim, datatype, scl_slope/scl_inter, the sform and the qform
 * come from the volume's medical metadata, and a DICOM source's patient (LPS) affine becomes a scanner-anatomical
 * (RAS) sform.
 */
export function encodeNifti(volume: Volume, gzip: boolean): Buffer {
  const bytes = Buffer.concat([niftiHeaderBytes(volume, 1), niftiSampleBytes(volume)]);
  return gzip ? gzipSync(bytes) : bytes;
}

/**
 * The bytes (header and empty extension flag: 352 for NIfTI-1, 544 for NIfTI-2; see encodeNifti for which) that start
 * a file of `volumes` volumes shaped like `volume` (a 4-D file when there are several: dim[4] = volumes, pixdim[4]
 * kept from the source).
 */
export function niftiHeaderBytes(volume: Volume, volumes: number): Uint8Array {
  const { width, height, depth } = volume;
  const medical = volume.medical;
  const code = storedSamplesFor(volume);
  const n = medical.format === 'nifti' ? medical.nifti : undefined;
  const version = n?.version === 2 || Math.max(width, height, depth, volumes) > MAX_NIFTI1_DIM ? 2 : 1;
  const voxOffset = version === 2 ? NIFTI2_MIN_VOX_OFFSET : MIN_VOX_OFFSET;
  const h = version === 2 ? new niftiReader.NIFTI2() : new niftiReader.NIFTI1();
  h.littleEndian = true;
  h.dims = [volumes > 1 ? 4 : depth > 1 ? 3 : 2, width, height, depth, volumes, 1, 1, 1];
  h.datatypeCode = code.datatype;
  h.numBitsPerVoxel = code.bitpix;
  const qfac = n?.quaternion?.qfac ?? 1;
  h.pixDims = [qfac, medical.spacing[0], medical.spacing[1], medical.spacing[2], n?.pixdim[4] ?? 0, n?.pixdim[5] ?? 0, n?.pixdim[6] ?? 0, n?.pixdim[7] ?? 0];
  h.vox_offset = voxOffset;
  h.scl_slope = medical.rescale?.slope ?? 0;
  h.scl_inter = medical.rescale?.intercept ?? 0;
  h.xyzt_units = n?.xyztUnits ?? 2; // 2 = millimetres
  if (medical.window) {
    h.cal_max = medical.window.center + medical.window.width / 2;
    h.cal_min = medical.window.center - medical.window.width / 2;
  }
  // descrip is 80 bytes, NUL-terminated; the library encodes UTF-8, so keep it to printable ASCII.
  h.description = (n?.description ?? (medical.modality ? `diffusekit from DICOM ${medical.modality}` : 'diffusekit')).replace(/[^\x20-\x7e]/g, '?').slice(0, 79);
  // A NIfTI source keeps its own sform/qform (scaled with the image); any other volume writes its affine as the sform.
  const sform = medical.format !== 'nifti' ? flipXY(medical.affine) : n ? n.sform : medical.affine;
  const sformCode = medical.format !== 'nifti' || !n ? 1 : n.sformCode ?? 0;
  if (n?.qform && n.quaternion && n.qformCode > 0) {
    h.qform_code = n.qformCode;
    [h.quatern_b, h.quatern_c, h.quatern_d] = [n.quaternion.b, n.quaternion.c, n.quaternion.d];
    [h.qoffset_x, h.qoffset_y, h.qoffset_z] = [n.qform[3], n.qform[7], n.qform[11]];
  }
  const writeSform = sform !== undefined && sformCode > 0;
  if (writeSform) h.sform_code = sformCode;
  h.affine = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (writeSform && r < 3 ? sform[r * 4 + c]! : 0)));
  h.magic = version === 2 ? 'n+2' : 'n+1';
  const header = new Uint8Array(h.toArrayBuffer());
  if (header.length !== voxOffset) throw new Error(`nifti-reader-js wrote a ${header.length}-byte NIfTI-${version} header; expected ${voxOffset}`);
  if (version === 1) header[38] = 0x72; // regular = 'r', which ANALYZE 7.5 readers still check
  return header;
}

/** A volume's voxels as NIfTI stores them after the header: little-endian samples of its dtype, RGB24 as triplets. */
export function niftiSampleBytes(volume: Volume): Uint8Array {
  return encodeStoredSamples(volume);
}

/**
 * Every 3-D volume of a NIfTI file in storage order (one for a 3-D file), each decoded as `decodeNifti` decodes one
 * (medical.nifti.volumeIndex says which). A .nii.gz is inflated once, in chunks, and only the volume being handed out
 * is kept: a long fMRI series costs one volume of memory however long it is. Voxels of one volume are checked against
 * `maxPixels`; a file shorter than its header states gives DECODE_FAILED at the volume it runs out in.
 */
export async function* readNiftiVolumes(view: Uint8Array, maxPixels: number, signal?: AbortSignal): AsyncGenerator<Volume> {
  const parsed = parseHeader(headBytes(view));
  checkVoxelLimit(parsed.header, maxPixels);
  for await (const stored of storedVolumes(view, parsed, 0, signal)) yield volumeOf(parsed, stored.samples, stored.index);
}

