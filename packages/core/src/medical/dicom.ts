import { createRequire } from 'node:module';
import type DcmjsModule from 'dcmjs';
import { DiffusekitError } from '../errors.js';
import { toExactArrayBuffer } from '../codecs/input-bytes.js';
import { allocateSamples } from '../raster/dtype.js';
import type { DType } from '../raster/types.js';
import type { Affine, MedicalInfo, Volume, VolumeHeader } from './types.js';
import { valueRangeOf, voxelToWorld } from './volume.js';
import { CODEC_SYNTAXES, decodeCompressedFrame } from './compressed.js';
import { compressedColourFrame, interleave, nativeColourFrame, nativeFrameBytes, readPalette, sampleModelOf, type SampleModel } from './dicom-colour.js';

// dcmjs's ES build is a .js file in a package without "type": "module", which Node before 20.19 cannot import as ESM;
// its CommonJS build loads everywhere.
const dcmjs = createRequire(import.meta.url)('dcmjs') as typeof DcmjsModule;
const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;

/** Transfer syntaxes whose pixel data is stored uncompressed (deflate applies to the whole data set, and dcmjs inflates it). */
const NATIVE_SYNTAXES: Record<string, { name: string; littleEndian: boolean }> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', littleEndian: true },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', littleEndian: true },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', littleEndian: true },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', littleEndian: false },
};

/** Names of the compressed transfer syntaxes without a codec here, for the UNSUPPORTED_TRANSFER_SYNTAX message. */
const COMPRESSED_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, First-Order Prediction (Process 14, SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.4.100': 'MPEG2 Main Profile',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export const IMPLEMENTATION_CLASS_UID = '2.25.2306102144953173406150236870283';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

let quieted = false;
/** dcmjs logs every odd VR it meets (and the values it repairs); the codec reports problems through its errors instead. */
function quietDcmjs(): void {
  if (quieted) return;
  dcmjs.log.setLevel('silent');
  dcmjs.log.getLogger?.('validation.dcmjs').setLevel('silent');
  quieted = true;
}

type Dataset = Record<string, unknown>;

export function isDicom(view: Uint8Array): boolean {
  return view.length >= 132 && view[128] === 0x44 && view[129] === 0x49 && view[130] === 0x43 && view[131] === 0x4d;
}

/**
 * A copy made of plain arrays, objects, strings, numbers and binary buffers only. dcmjs decorates some values (person
 * names) with accessor functions, which neither structured clone (worker threads) nor JSON can carry.
 */
function plainData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainData);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (typeof v !== 'function') out[k] = plainData(v);
    return out;
  }
  return typeof value === 'function' ? undefined : value;
}

function decodeFailed(message: string, details?: unknown): DiffusekitError {
  return new DiffusekitError('DECODE_FAILED', message, details === undefined ? {} : { details });
}

/** Parses a Part-10 file up to and including its pixel data (anything after it, such as padding, is ignored). */
function parse(view: Uint8Array, withPixels: boolean): { meta: Dataset; dataset: Dataset } {
  quietDcmjs();
  if (!isDicom(view)) throw new DiffusekitError('UNSUPPORTED_FORMAT', 'Not a DICOM Part-10 file (no "DICM" at byte 128)', { details: { format: 'dicom' } });
  try {
    const dict = DicomMessage.readFile(toExactArrayBuffer(view), { untilTag: '7FE00010', includeUntilTagValue: withPixels });
    return { meta: DicomMetaDictionary.naturalizeDataset(dict.meta), dataset: DicomMetaDictionary.naturalizeDataset(dict.dict) };
  } catch (error) {
    if (error instanceof DiffusekitError) throw error;
    throw decodeFailed(`The DICOM file is truncated or corrupt: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const first = (value: unknown): unknown => (Array.isArray(value) ? value[0] : value);
function num(value: unknown): number | undefined {
  const v = Number(first(value));
  return value === undefined || value === null || value === '' || !Number.isFinite(v) ? undefined : v;
}
function numbers(value: unknown, length: number): number[] | undefined {
  if (!Array.isArray(value) || value.length < length) return undefined;
  const out = value.slice(0, length).map(Number);
  return out.every(Number.isFinite) ? out : undefined;
}
export const str = (value: unknown): string | undefined => (typeof first(value) === 'string' ? (first(value) as string) : undefined);

function cross(a: number[], b: number[]): [number, number, number] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}
const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/** The sample type and model (grey or colour) of an image, or UNSUPPORTED_FORMAT naming what the file holds. */
function samplesOf(ds: Dataset): { dtype: DType; model: SampleModel } {
  const samples = num(ds.SamplesPerPixel) ?? 1;
  const photometric = str(ds.PhotometricInterpretation) ?? 'MONOCHROME2';
  const bits = num(ds.BitsAllocated);
  const palette = () =>
    readPalette(
      (colour) => numbers(ds[`${colour}PaletteColorLookupTableDescriptor`], 3),
      (colour) => {
        const value = first(ds[`${colour}PaletteColorLookupTableData`]);
        return value instanceof ArrayBuffer ? value : undefined;
      },
      ds.SegmentedRedPaletteColorLookupTableData !== undefined,
    );
  const model = sampleModelOf(samples, photometric, num(ds.PlanarConfiguration), palette, bits);
  const signed = num(ds.PixelRepresentation) === 1;
  // A palette image stores indices of its own bit depth; what it decodes to is 8-bit RGB.
  if (model.bands === 3 && model.photometric === 'PALETTE COLOR') return { dtype: 'uint8', model };
  if (model.bands === 3) {
    if (bits === 8 && !signed) return { dtype: 'uint8', model };
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `DICOM ${photometric} colour of ${bits} bits allocated is not read; accepted: 8-bit unsigned colour`, {
      details: { photometric, bitsAllocated: bits },
    });
  }
  if (bits === 16) return { dtype: signed ? 'int16' : 'uint16', model };
  if (bits === 8 && !signed) return { dtype: 'uint8', model };
  throw new DiffusekitError('UNSUPPORTED_FORMAT', `DICOM pixels of ${bits} bits allocated (${signed ? 'signed' : 'unsigned'}) are not read; accepted: 8-bit unsigned, 16-bit signed or unsigned`, {
    details: { bitsAllocated: bits, pixelRepresentation: signed ? 1 : 0 },
  });
}

function transferSyntaxOf(meta: Dataset): string {
  return str(meta.TransferSyntaxUID) ?? '1.2.840.10008.1.2';
}

function checkTransferSyntax(syntax: string): { name: string; littleEndian: boolean; compressed: boolean } {
  const native = NATIVE_SYNTAXES[syntax];
  if (native) return { ...native, compressed: false };
  const codec = CODEC_SYNTAXES[syntax];
  if (codec) return { name: codec.name, littleEndian: true, compressed: true };
  const name = COMPRESSED_SYNTAXES[syntax] ?? 'an unknown transfer syntax';
  const accepted = [...Object.entries(NATIVE_SYNTAXES).map(([uid, s]) => `${s.name} (${uid})`), ...Object.entries(CODEC_SYNTAXES).map(([uid, s]) => `${s.name} (${uid})`)];
  throw new DiffusekitError(
    'UNSUPPORTED_TRANSFER_SYNTAX',
    `DICOM transfer syntax ${syntax} (${name}) cannot be decoded; accepted: ${accepted.join(', ')}. Convert the file to one of those first (e.g. dcmconv +te, gdcmconv --raw)`,
    { details: { transferSyntax: syntax, name } },
  );
}

/** Slice-level facts of one file, read from its header. */
interface SliceHeader {
  meta: Dataset;
  dataset: Dataset;
  rows: number;
  columns: number;
  frames: number;
  dtype: DType;
  /** Grey, or colour and how it is stored; a decoded colour image is three planes of RGB per frame. */
  model: SampleModel;
  transferSyntax: string;
}

function sliceHeader(view: Uint8Array, withPixels: boolean): SliceHeader {
  const { meta, dataset } = parse(view, withPixels);
  const rows = num(dataset.Rows);
  const columns = num(dataset.Columns);
  if (rows === undefined || columns === undefined || !Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw decodeFailed(`The DICOM header lacks a valid Rows/Columns (received ${rows} x ${columns}); it is not an image or the file is truncated`);
  }
  const frames = num(dataset.NumberOfFrames) ?? 1;
  if (!Number.isInteger(frames) || frames < 1) throw decodeFailed(`The DICOM header has NumberOfFrames ${dataset.NumberOfFrames}; expected a positive integer`);
  return { meta, dataset, rows, columns, frames, ...samplesOf(dataset), transferSyntax: transferSyntaxOf(meta) };
}

/** Geometry and value metadata of slices that share rows, columns and orientation, given in slice order. */
/** The first item of a functional group's macro sequence, e.g. PixelMeasuresSequence of a shared or per-frame group. */
function macro(group: unknown, sequence: string): Dataset | undefined {
  const items = (group as Dataset | undefined)?.[sequence];
  return Array.isArray(items) ? (items[0] as Dataset | undefined) : undefined;
}

/**
 * Geometry of an enhanced multi-frame object, which states it in functional groups (shared by all frames, or per
 * frame) instead of top-level attributes: pixel spacing, slice thickness, orientation and each frame's position.
 */
function functionalGeometry(ds: Dataset): { pixelSpacing?: number[]; thickness?: number; orientation?: number[]; positions?: (number[] | undefined)[] } {
  const shared = first(ds.SharedFunctionalGroupsSequence);
  const perFrame = Array.isArray(ds.PerFrameFunctionalGroupsSequence) ? (ds.PerFrameFunctionalGroupsSequence as unknown[]) : [];
  const from = (sequence: string, attr: string) => macro(shared, sequence)?.[attr] ?? macro(perFrame[0], sequence)?.[attr];
  const pixelSpacing = numbers(from('PixelMeasuresSequence', 'PixelSpacing'), 2);
  const thickness = num(from('PixelMeasuresSequence', 'SliceThickness'));
  const orientation = numbers(from('PlaneOrientationSequence', 'ImageOrientationPatient'), 6);
  const positions = perFrame.length ? perFrame.map((g) => numbers(macro(g, 'PlanePositionSequence')?.ImagePositionPatient, 3)) : undefined;
  return { ...(pixelSpacing ? { pixelSpacing } : {}), ...(thickness !== undefined ? { thickness } : {}), ...(orientation ? { orientation } : {}), ...(positions ? { positions } : {}) };
}

/** Geometry and value metadata of slices that share rows, columns and orientation, given in slice order. */
function medicalInfoOf(slices: readonly SliceHeader[], layout: 'multiframe' | 'series'): MedicalInfo {
  const ds = slices[0]!.dataset;
  const depth = layout === 'multiframe' ? slices[0]!.frames : slices.length;
  const groups = layout === 'multiframe' ? functionalGeometry(ds) : {};
  const pixelSpacing = numbers(ds.PixelSpacing, 2) ?? groups.pixelSpacing ?? numbers(ds.ImagerPixelSpacing, 2) ?? [1, 1];
  const [rowSpacing, colSpacing] = pixelSpacing as [number, number];
  const orientation = numbers(ds.ImageOrientationPatient, 6) ?? groups.orientation;
  const framePositions = groups.positions?.length === depth && groups.positions.every(Boolean) ? groups.positions : undefined;
  const positions = layout === 'series' ? slices.map((s) => numbers(s.dataset.ImagePositionPatient, 3)) : framePositions ?? [numbers(ds.ImagePositionPatient, 3)];
  const rowCos = orientation?.slice(0, 3) ?? [1, 0, 0];
  const colCos = orientation?.slice(3, 6) ?? [0, 1, 0];
  const normal = cross(rowCos, colCos);
  const thickness = num(ds.SliceThickness) ?? groups.thickness;
  const between = num(ds.SpacingBetweenSlices);
  const p0 = positions[0] ?? [0, 0, 0];
  let kColumn: number[] = normal.map((n) => n * (between ?? thickness ?? 1));
  const last = positions[positions.length - 1];
  if (positions.length === depth && depth > 1 && last && positions.every(Boolean)) kColumn = last.map((v, r) => (v - p0[r]!) / (depth - 1));
  const affine: Affine = [
    rowCos[0]! * colSpacing, colCos[0]! * rowSpacing, kColumn[0]!, p0[0]!,
    rowCos[1]! * colSpacing, colCos[1]! * rowSpacing, kColumn[1]!, p0[1]!,
    rowCos[2]! * colSpacing, colCos[2]! * rowSpacing, kColumn[2]!, p0[2]!,
    0, 0, 0, 1,
  ];
  const sliceSpacing = Math.hypot(kColumn[0]!, kColumn[1]!, kColumn[2]!) || 1;
  const slope = num(ds.RescaleSlope);
  const intercept = num(ds.RescaleIntercept);
  const center = num(ds.WindowCenter);
  const width = num(ds.WindowWidth);
  const modality = str(ds.Modality);
  const photometric = str(ds.PhotometricInterpretation);
  const imageType = Array.isArray(ds.ImageType) ? (ds.ImageType as unknown[]).map(String) : undefined;
  return {
    format: 'dicom',
    dims: [slices[0]!.columns, slices[0]!.rows, depth],
    spacing: [colSpacing, rowSpacing, sliceSpacing],
    affine,
    ...(slope !== undefined || intercept !== undefined ? { rescale: { slope: slope ?? 1, intercept: intercept ?? 0 } } : {}),
    ...(center !== undefined && width !== undefined && width > 0 ? { window: { center, width } } : {}),
    ...(photometric ? { photometric } : {}),
    ...(modality ? { modality } : {}),
    ...(thickness !== undefined ? { sliceThickness: thickness } : {}),
    dicom: {
      transferSyntax: slices[0]!.transferSyntax,
      layout,
      ...(str(ds.SOPClassUID) ? { sopClassUid: str(ds.SOPClassUID)! } : {}),
      ...(str(ds.StudyInstanceUID) ? { studyInstanceUid: str(ds.StudyInstanceUID)! } : {}),
      ...(str(ds.SeriesInstanceUID) ? { seriesInstanceUid: str(ds.SeriesInstanceUID)! } : {}),
      ...(orientation ? { orientation } : {}),
      ...(positions.every(Boolean) && positions.length > 0 ? { positions: positions.length === depth ? (positions as number[][]) : Array.from({ length: depth }, (_, k) => voxelToWorld(affine, 0, 0, k)) } : {}),
      ...(imageType ? { imageType } : {}),
      datasets: slices.map((s) => {
        const { PixelData: _pixels, ...rest } = s.dataset;
        return plainData(rest) as Record<string, unknown>;
      }),
    },
  };
}

function headerOf(slices: readonly SliceHeader[], layout: 'multiframe' | 'series'): VolumeHeader {
  const medical = medicalInfoOf(slices, layout);
  const bands = slices[0]!.model.bands;
  return { format: 'dicom', width: medical.dims[0], height: medical.dims[1], depth: medical.dims[2], ...(bands > 1 ? { bands } : {}), dtype: slices[0]!.dtype, medical };
}

/** What a DICOM file's header states (size, frames, dtype, geometry, rescale, window), without reading pixel data. */
export function readDicomHeader(view: Uint8Array): VolumeHeader {
  return headerOf([sliceHeader(view, false)], 'multiframe');
}

function tooLarge(width: number, height: number, depth: number, maxPixels: number): DiffusekitError {
  const voxels = width * height * depth;
  return new DiffusekitError('IMAGE_TOO_LARGE', `The DICOM image is ${width}x${height}x${depth} = ${voxels} voxels, more than the limit of ${maxPixels}; raise maxPixels if this input is trusted`, {
    details: { width, height, depth, voxels, maxPixels },
  });
}

/**
 * Bytes the file really holds after the (native) PixelData element's header, or undefined when the element is not
 * found. dcmjs pads a value cut short by the end of the file, so a truncated file is found here from the file's length.
 */
function pixelBytesInFile(view: Uint8Array, littleEndian: boolean): number | undefined {
  const tag = littleEndian ? [0xe0, 0x7f, 0x10, 0x00] : [0x7f, 0xe0, 0x00, 0x10];
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  let found: number | undefined;
  for (let at = 132; at + 8 <= view.length; at++) {
    if (view[at] !== tag[0] || view[at + 1] !== tag[1] || view[at + 2] !== tag[2] || view[at + 3] !== tag[3]) continue;
    // Explicit VR: "OB"/"OW" + 2 reserved bytes + 4-byte length; implicit VR: 4-byte length. The last match wins, as
    // pixel data is the last element read.
    const vr = String.fromCharCode(view[at + 4]!, view[at + 5]!);
    found = vr === 'OB' || vr === 'OW' || vr === 'UN' ? at + 12 : at + 8;
    if (found > view.length) return 0;
    const declared = vr === 'OB' || vr === 'OW' || vr === 'UN' ? dv.getUint32(at + 8, littleEndian) : dv.getUint32(at + 4, littleEndian);
    if (found + Math.min(declared, view.length) >= view.length || declared === 0xffffffff) break;
  }
  return found === undefined ? undefined : view.length - found;
}

/**
 * The compressed frames of encapsulated pixel data: every fragment of a single frame joined, or one fragment per frame.
 * dcmjs hands over the fragments; other layouts (several fragments per frame of a multi-frame file) are refused.
 */
function compressedFrames(fragments: ArrayBuffer[], frames: number, file: string): Uint8Array[] {
  if (frames === 1) {
    const joined = new Uint8Array(fragments.reduce((n, f) => n + f.byteLength, 0));
    let at = 0;
    for (const f of fragments) joined.set(new Uint8Array(f), at), (at += f.byteLength);
    return [joined];
  }
  if (fragments.length === frames) return fragments.map((f) => new Uint8Array(f));
  throw new DiffusekitError('DECODE_FAILED', `${file} has ${frames} frames in ${fragments.length} compressed fragments; only one fragment per frame is read`, {
    details: { frames, fragments: fragments.length },
  });
}

/**
 * Decodes the compressed frames of one file into `target` at `offset` with the codec of its transfer syntax; colour
 * frames become three RGB planes (see compressedColourFrame).
 */
async function readCompressedPixels(slice: SliceHeader, fragments: ArrayBuffer[], target: Volume['data'], offset: number, file: string): Promise<void> {
  const bytes = slice.dtype === 'uint8' ? 1 : 2;
  const plane = slice.rows * slice.columns;
  const model = slice.model;
  for (const [f, encoded] of compressedFrames(fragments, slice.frames, file).entries()) {
    const where = slice.frames > 1 ? `${file} frame ${f + 1}` : file;
    // A palette image's stream holds one component of indices.
    const stored = model.bands === 3 && model.photometric === 'PALETTE COLOR' ? { bytes: model.indexBytes, components: 1 as const } : { bytes, components: model.bands };
    const decoded = await decodeCompressedFrame(slice.transferSyntax, encoded, { width: slice.columns, height: slice.rows, ...stored }, where);
    if (model.bands === 3) {
      compressedColourFrame(model, decoded, plane, target as Uint8Array, offset + f * 3 * plane);
      continue;
    }
    const samples = decoded.samples;
    const dv = new DataView(samples.buffer, samples.byteOffset, samples.byteLength);
    const base = offset + f * plane;
    if (slice.dtype === 'uint8') target.set(samples as never, base);
    else if (slice.dtype === 'int16') for (let i = 0; i < plane; i++) target[base + i] = dv.getInt16(i * 2, true);
    else for (let i = 0; i < plane; i++) target[base + i] = dv.getUint16(i * 2, true);
  }
}

/** Copies the pixel samples of every frame of one file into `target` at `offset`, after checking they are all there. */
async function readPixels(slice: SliceHeader, target: Volume['data'], offset: number, file: string, view: Uint8Array): Promise<void> {
  const { littleEndian, compressed } = checkTransferSyntax(slice.transferSyntax);
  const pixels = slice.dataset.PixelData;
  const buffer = Array.isArray(pixels) ? pixels[0] : undefined;
  if (compressed && Array.isArray(pixels) && pixels.length > 0 && pixels.every((p) => p instanceof ArrayBuffer)) {
    await readCompressedPixels(slice, pixels as ArrayBuffer[], target, offset, file);
    return;
  }
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) {
    throw new DiffusekitError('PIXEL_DATA_MISSING', `${file} has no pixel data (7FE0,0010); it may be a structured report, a presentation state or a header-only file`, {
      details: { sopClassUid: str(slice.dataset.SOPClassUID) },
    });
  }
  const size = slice.dtype === 'uint8' ? 1 : 2;
  const frameBytes = nativeFrameBytes(slice.model, slice.columns, slice.rows, size);
  const needed = frameBytes * slice.frames;
  const inFile = pixelBytesInFile(view, littleEndian);
  if (buffer.byteLength < needed || (inFile !== undefined && inFile < needed)) {
    const what = slice.model.bands === 3 ? `${slice.model.photometric} ` : '';
    throw decodeFailed(`${file} is truncated: its header states ${slice.columns}x${slice.rows}x${slice.frames} ${what}${slice.dtype} samples (${needed} bytes) but the pixel data holds ${Math.min(buffer.byteLength, inFile ?? Infinity)} bytes`, {
      expectedBytes: needed,
      actualBytes: Math.min(buffer.byteLength, inFile ?? Infinity),
    });
  }
  if (slice.model.bands === 3) {
    const plane = slice.rows * slice.columns;
    for (let f = 0; f < slice.frames; f++) nativeColourFrame(slice.model, new Uint8Array(buffer, f * frameBytes, frameBytes), slice.columns, slice.rows, target as Uint8Array, offset + f * 3 * plane);
    return;
  }
  const count = slice.rows * slice.columns * slice.frames;
  const dv = new DataView(buffer);
  if (slice.dtype === 'uint8') target.set(new Uint8Array(buffer, 0, count) as never, offset);
  else if (slice.dtype === 'int16') for (let i = 0; i < count; i++) target[offset + i] = dv.getInt16(i * 2, littleEndian);
  else for (let i = 0; i < count; i++) target[offset + i] = dv.getUint16(i * 2, littleEndian);
}

/**
 * Decodes one DICOM file (single- or multi-frame) into a volume of its frames. The transfer syntax, photometric
 * interpretation, sample type and size are checked from the header before any sample is allocated.
 */
export async function decodeDicom(view: Uint8Array, maxPixels: number, file = 'The DICOM file'): Promise<Volume> {
  const slice = sliceHeader(view, true);
  checkTransferSyntax(slice.transferSyntax);
  if (slice.rows * slice.columns * slice.frames > maxPixels) throw tooLarge(slice.columns, slice.rows, slice.frames, maxPixels);
  const header = headerOf([slice], 'multiframe');
  const data = allocateSamples(slice.dtype, slice.rows * slice.columns * slice.frames * slice.model.bands);
  await readPixels(slice, data, 0, file, view);
  return { width: header.width, height: header.height, depth: header.depth, ...bandsOf(header), dtype: header.dtype, data, medical: { ...header.medical, valueRange: valueRangeOf(data) } };
}

const bandsOf = (header: VolumeHeader): { bands?: number } => (header.bands !== undefined && header.bands > 1 ? { bands: header.bands } : {});

function inconsistent(message: string, details?: unknown): DiffusekitError {
  return new DiffusekitError('VOLUME_INCONSISTENT', message, details === undefined ? {} : { details });
}

/** Slices of one series in spatial order: by position along the slice normal, else by InstanceNumber. */
function orderSlices(slices: SliceHeader[], names: readonly string[], views: readonly Uint8Array[]): { slices: SliceHeader[]; names: string[]; views: Uint8Array[] } {
  const seriesUids = [...new Set(slices.map((s) => str(s.dataset.SeriesInstanceUID) ?? ''))];
  if (seriesUids.length > 1) throw inconsistent(`The folder holds ${seriesUids.length} DICOM series (${seriesUids.join(', ')}); give one series per folder`, { series: seriesUids });
  const ref = slices[0]!;
  const orientation = numbers(ref.dataset.ImageOrientationPatient, 6);
  for (const [n, s] of slices.entries()) {
    if (s.frames !== 1) throw inconsistent(`${names[n]} has ${s.frames} frames; a series folder takes single-frame files (read a multi-frame file on its own)`);
    if (s.rows !== ref.rows || s.columns !== ref.columns || s.dtype !== ref.dtype || s.model.bands !== ref.model.bands) {
      const kind = (h: SliceHeader) => `${h.columns}x${h.rows} ${h.dtype}${h.model.bands === 3 ? ' colour' : ''}`;
      throw inconsistent(`${names[n]} is ${kind(s)} but ${names[0]} is ${kind(ref)}; every slice of a volume must match`);
    }
    const o = numbers(s.dataset.ImageOrientationPatient, 6);
    if (orientation && o && o.some((v, i) => Math.abs(v - orientation[i]!) > 1e-4)) throw inconsistent(`${names[n]} has another ImageOrientationPatient than ${names[0]}`);
  }
  const normal = orientation ? cross(orientation.slice(0, 3), orientation.slice(3, 6)) : undefined;
  const keyed = slices.map((s, n) => {
    const p = numbers(s.dataset.ImagePositionPatient, 3);
    return { s, name: names[n]!, view: views[n]!, key: normal && p ? dot(p, normal) : num(s.dataset.InstanceNumber) ?? n };
  });
  keyed.sort((a, b) => a.key - b.key);
  for (let n = 1; n < keyed.length; n++) {
    if (Math.abs(keyed[n]!.key - keyed[n - 1]!.key) < 1e-6) throw inconsistent(`${keyed[n - 1]!.name} and ${keyed[n]!.name} lie at the same slice position`);
  }
  return { slices: keyed.map((k) => k.s), names: keyed.map((k) => k.name), views: keyed.map((k) => k.view) };
}

/** The header of a series given as one file per slice (sorted spatially), without reading pixel data. */
export function readDicomSeriesHeader(views: readonly Uint8Array[], names: readonly string[]): VolumeHeader {
  const ordered = orderSlices(views.map((v) => sliceHeader(v, false)), names, views);
  return headerOf(ordered.slices, 'series');
}

/** Decodes a series (one single-frame file per slice, any order) into one volume, slices sorted along their normal. */
export async function decodeDicomSeries(views: readonly Uint8Array[], names: readonly string[], maxPixels: number): Promise<Volume> {
  const headers = views.map((v) => sliceHeader(v, true));
  const ordered = orderSlices(headers, names, views);
  const ref = ordered.slices[0]!;
  for (const s of ordered.slices) checkTransferSyntax(s.transferSyntax);
  if (ref.rows * ref.columns * ordered.slices.length > maxPixels) throw tooLarge(ref.columns, ref.rows, ordered.slices.length, maxPixels);
  const header = headerOf(ordered.slices, 'series');
  const plane = ref.rows * ref.columns * ref.model.bands;
  const data = allocateSamples(ref.dtype, plane * ordered.slices.length);
  for (const [k, s] of ordered.slices.entries()) await readPixels(s, data, k * plane, ordered.names[k]!, ordered.views[k]!);
  return { width: header.width, height: header.height, depth: header.depth, ...bandsOf(header), dtype: header.dtype, data, medical: { ...header.medical, valueRange: valueRangeOf(data) } };
}

/** A functional group with its PixelMeasures and PlanePosition macros restated; other macros are kept as they were. */
function restateGroup(group: Dataset, pixelSpacing: number[], thickness: number | undefined, position: number[] | undefined): Dataset {
  const out: Dataset = { ...group };
  const measures = macro(group, 'PixelMeasuresSequence');
  if (measures) out.PixelMeasuresSequence = [{ ...measures, PixelSpacing: pixelSpacing, ...(thickness !== undefined && measures.SliceThickness !== undefined ? { SliceThickness: thickness } : {}) }];
  const plane = macro(group, 'PlanePositionSequence');
  if (plane && position) out.PlanePositionSequence = [{ ...plane, ImagePositionPatient: position }];
  return out;
}

/**
 * An enhanced multi-frame object states its geometry in functional groups: restate pixel spacing, thickness and each
 * frame's position there too, one per-frame group per output frame (taken from the source frame it comes from).
 */
function updateFunctionalGroups(ds: Dataset, source: Dataset, depth: number, pixelSpacing: number[], thickness: number | undefined, positions: number[][] | undefined): void {
  const shared = first(source.SharedFunctionalGroupsSequence) as Dataset | undefined;
  if (shared) ds.SharedFunctionalGroupsSequence = [restateGroup(shared, pixelSpacing, thickness, undefined)];
  const perFrame = Array.isArray(source.PerFrameFunctionalGroupsSequence) ? (source.PerFrameFunctionalGroupsSequence as Dataset[]) : undefined;
  if (perFrame && perFrame.length > 0) {
    ds.PerFrameFunctionalGroupsSequence = Array.from({ length: depth }, (_, f) =>
      restateGroup(perFrame[Math.min(perFrame.length - 1, Math.floor((f * perFrame.length) / depth))]!, pixelSpacing, thickness, positions?.[f]),
    );
  }
}

export interface DicomEncodeOptions {
  /** Written to DerivationDescription and appended to SeriesDescription, e.g. "diffusekit sr3-x4 x4". */
  derivation?: string;
}

const DTYPE_BITS: Partial<Record<DType, { bits: number; signed: 0 | 1 }>> = { uint8: { bits: 8, signed: 0 }, uint16: { bits: 16, signed: 0 }, int16: { bits: 16, signed: 1 } };

/** Attributes whose values describe the source pixels and would be wrong (or of the wrong VR) for the new ones. */
const STALE_ATTRIBUTES = [
  'SmallestImagePixelValue', 'LargestImagePixelValue', 'IconImageSequence', 'PixelPaddingValue', 'PixelPaddingRangeLimit', 'SmallestPixelValueInSeries',
  'LargestPixelValueInSeries',
  // ACR-NEMA positions, retired in favour of ImagePositionPatient/ImageOrientationPatient, which are rewritten.
  'RETIRED_ImagePosition', 'RETIRED_ImageOrientation', 'RETIRED_Location',
];

/**
 * A Part-10 file (Explicit VR Little Endian) of a naturalised data set, encoded by dcmjs. Values copied from a source
 * file are written as they were, even where an old file breaks a VR length rule.
 */
export function writePart10(ds: Dataset, sopClassUid: string, sopInstanceUid: string, what: string): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_LITTLE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'DIFFUSEKIT',
  };
  try {
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
    return Buffer.from(dict.write({ allowInvalidVRLength: true }));
  } catch (error) {
    throw new DiffusekitError('ENCODE_FAILED', `Could not write ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Encodes a volume that came from DICOM as a derived series in Explicit VR Little Endian: new Series and SOP Instance
 * UIDs, ImageType DERIVED\SECONDARY, Rows/Columns, PixelSpacing, positions and slice thickness from the (scaled)
 * metadata, patient and study attributes copied unchanged. A source series gives one file per slice, a multi-frame
 * source one multi-frame file.
 */
export function encodeDicom(volume: Volume, options: DicomEncodeOptions = {}): Buffer[] {
  quietDcmjs();
  const medical = volume.medical;
  const dicom = medical.dicom;
  if (medical.format !== 'dicom' || !dicom || dicom.datasets.length === 0) {
    throw new DiffusekitError('ENCODE_FAILED', 'DICOM output needs a raster or volume read from DICOM (its patient, study and equipment attributes are copied into the derived series); write NIfTI for other sources', {
      details: { format: 'dicom' },
    });
  }
  const bits = DTYPE_BITS[volume.dtype];
  if (!bits) throw new DiffusekitError('ENCODE_FAILED', `DICOM output holds uint8, uint16 or int16 samples, not ${volume.dtype}`, { details: { dtype: volume.dtype } });
  const bands = volume.bands ?? 1;
  if (bands !== 1 && !(bands === 3 && volume.dtype === 'uint8')) {
    throw new DiffusekitError('ENCODE_FAILED', `DICOM output holds 1 band, or 3 bands (RGB) of uint8; this volume has ${bands} of ${volume.dtype}`, { details: { bands, dtype: volume.dtype } });
  }
  const seriesUid = DicomMetaDictionary.uid();
  const { width, height, depth } = volume;
  const plane = width * height * bands;
  const [colSpacing, rowSpacing, sliceSpacing] = medical.spacing;
  const orientation = dicom.orientation;
  const normal = orientation ? cross(orientation.slice(0, 3), orientation.slice(3, 6)) : undefined;
  const sourceDepth = dicom.layout === 'series' ? dicom.datasets.length : 1;
  const files = dicom.layout === 'multiframe' ? 1 : depth;
  const out: Buffer[] = [];
  for (let f = 0; f < files; f++) {
    const source = dicom.datasets[Math.min(sourceDepth - 1, Math.floor((f * sourceDepth) / depth))]!;
    const ds: Dataset = { ...source };
    for (const key of STALE_ATTRIBUTES) delete ds[key];
    const sopUid = DicomMetaDictionary.uid();
    const imageType = Array.isArray(source.ImageType) ? (source.ImageType as unknown[]).map(String) : [];
    ds.ImageType = ['DERIVED', 'SECONDARY', ...imageType.slice(2)];
    ds.SeriesInstanceUID = seriesUid;
    ds.SOPInstanceUID = sopUid;
    if (options.derivation) {
      ds.DerivationDescription = options.derivation.slice(0, 1024);
      ds.SeriesDescription = `${str(source.SeriesDescription) ?? ''} ${options.derivation}`.trim().slice(0, 64);
    }
    if (str(source.SOPInstanceUID) && str(source.SOPClassUID)) {
      ds.SourceImageSequence = [{ ReferencedSOPClassUID: str(source.SOPClassUID), ReferencedSOPInstanceUID: str(source.SOPInstanceUID) }];
    }
    ds.Rows = height;
    ds.Columns = width;
    // The value mapping and display settings travel with the samples, as stated in the metadata.
    if (medical.rescale) {
      ds.RescaleSlope = medical.rescale.slope;
      ds.RescaleIntercept = medical.rescale.intercept;
    }
    if (medical.window) {
      ds.WindowCenter = medical.window.center;
      ds.WindowWidth = medical.window.width;
    } else {
      // No (valid) window in the metadata: a copied one, such as a width of 0, would only mislead a viewer.
      for (const key of ['WindowCenter', 'WindowWidth', 'WindowCenterWidthExplanation']) delete ds[key];
    }
    if (medical.modality) ds.Modality = medical.modality;
    // An enhanced object states spacing and positions in its functional groups only (see updateFunctionalGroups).
    const enhanced = Array.isArray(source.PerFrameFunctionalGroupsSequence) || Array.isArray(source.SharedFunctionalGroupsSequence);
    if (!enhanced || source.PixelSpacing !== undefined) ds.PixelSpacing = [rowSpacing, colSpacing];
    if (medical.sliceThickness !== undefined) ds.SliceThickness = medical.sliceThickness;
    if (source.SpacingBetweenSlices !== undefined) ds.SpacingBetweenSlices = sliceSpacing;
    const position = dicom.positions?.[dicom.layout === 'multiframe' ? 0 : f];
    if (position && (!enhanced || source.ImagePositionPatient !== undefined)) ds.ImagePositionPatient = position;
    if (position && normal && source.SliceLocation !== undefined) ds.SliceLocation = dot(position, normal);
    ds.InstanceNumber = dicom.layout === 'multiframe' ? num(source.InstanceNumber) ?? 1 : f + 1;
    ds.BitsAllocated = bits.bits;
    ds.BitsStored = bits.bits;
    ds.HighBit = bits.bits - 1;
    ds.PixelRepresentation = bits.signed;
    ds.SamplesPerPixel = bands;
    // Colour is written as pixel-interleaved RGB whatever the source stored (YBR, planes, a JPEG stream).
    if (bands === 3) {
      ds.PhotometricInterpretation = 'RGB';
      ds.PlanarConfiguration = 0;
      // A palette source's lookup tables describe indices the RGB output no longer holds.
      for (const key of Object.keys(ds)) if (key.includes('PaletteColorLookupTable') || key === 'PaletteColorLookupTableUID') delete ds[key];
    } else {
      if (!(str(source.PhotometricInterpretation) ?? 'MONOCHROME2').startsWith('MONOCHROME')) ds.PhotometricInterpretation = 'MONOCHROME2';
      delete ds.PlanarConfiguration;
    }
    if (dicom.layout === 'multiframe' && depth > 1) ds.NumberOfFrames = depth;
    const frames = dicom.layout === 'multiframe' ? depth : 1;
    const samples = volume.data.subarray((dicom.layout === 'multiframe' ? 0 : f) * plane, ((dicom.layout === 'multiframe' ? 0 : f) + frames) * plane);
    const length = samples.length * (bits.bits / 8);
    const pixels = new ArrayBuffer(length + (length % 2));
    const dv = new DataView(pixels);
    if (bands === 3) {
      const rgb = new Uint8Array(pixels);
      for (let k = 0; k < frames; k++) interleave(samples, plane / 3, k * plane, rgb, k * plane);
    } else {
      for (let i = 0; i < samples.length; i++) {
        if (bits.bits === 8) dv.setUint8(i, samples[i]!);
        else if (bits.signed) dv.setInt16(i * 2, samples[i]!, true);
        else dv.setUint16(i * 2, samples[i]!, true);
      }
    }
    if (dicom.layout === 'multiframe') updateFunctionalGroups(ds, source, depth, [rowSpacing, colSpacing], medical.sliceThickness, dicom.positions);
    ds.PixelData = [pixels];
    ds._vrMap = { ...((source._vrMap as Record<string, string> | undefined) ?? {}), PixelData: bits.bits === 8 ? 'OB' : 'OW' };
    out.push(writePart10(ds, str(source.SOPClassUID) ?? dicom.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7', sopUid, 'the derived DICOM'));
  }
  return out;
}
