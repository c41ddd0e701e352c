import { deflateSync } from 'node:zlib';
import { DiffusekitError } from '../../errors.js';
import { allocateSamples, bytesPerSample } from '../../raster/dtype.js';
import type { Raster, RasterData } from '../../raster/types.js';
import type { TiffCompression } from '../types.js';
import { bandNamesMetadata, nodataText } from './gdal-metadata.js';
import { FIELD_TYPE_SIZES, FieldType, Tag } from './tags.js';

/** A field to write. ASCII values are byte strings: one character per byte (latin1). */
export interface FieldToWrite {
  tag: number;
  type: number;
  value: number[] | string;
}

export interface TiffWriteOptions {
  compression: TiffCompression;
  /** 'pixel': PlanarConfiguration 1 (chunky); 'band': PlanarConfiguration 2 (one set of strips per band). */
  interleave: 'pixel' | 'band';
  /** Further fields, e.g. the GeoTIFF ones. */
  extraFields?: FieldToWrite[];
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TARGET_STRIP_BYTES = 64 * 1024;
const SAMPLE_FORMAT = { uint8: 1, uint16: 1, int16: 2, float32: 3 } as const;
const PHOTOMETRIC_MIN_IS_BLACK = 1;
const PHOTOMETRIC_RGB = 2;
const EXTRA_SAMPLE_UNSPECIFIED = 0;

/** The samples' bytes in little-endian order (a view when the host is little-endian, a swapped copy otherwise). */
function littleEndianBytes(samples: RasterData): Uint8Array {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  if (HOST_IS_LITTLE_ENDIAN || samples.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const size = samples.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += size) for (let k = 0; k < size; k++) swapped[i + k] = bytes[i + size - 1 - k]!;
  return swapped;
}

/** Rows [firstRow, firstRow + rows) of every band, pixel-interleaved. */
function interleavedRows(raster: Raster, firstRow: number, rows: number): RasterData {
  const { width, bands, data } = raster;
  const plane = width * raster.height;
  const out = allocateSamples(raster.dtype, rows * width * bands);
  for (let band = 0; band < bands; band++) {
    const from = band * plane + firstRow * width;
    for (let i = 0, n = rows * width; i < n; i++) out[i * bands + band] = data[from + i]!;
  }
  return out;
}

function stripsOf(raster: Raster, options: TiffWriteOptions): { strips: Uint8Array[]; rowsPerStrip: number } {
  const { width, height, bands } = raster;
  const samplesPerRow = options.interleave === 'pixel' ? width * bands : width;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(TARGET_STRIP_BYTES / (samplesPerRow * bytesPerSample(raster.dtype)))));
  const strips: Uint8Array[] = [];
  const finish = (bytes: Uint8Array) => strips.push(options.compression === 'deflate' ? deflateSync(bytes) : bytes);
  if (options.interleave === 'pixel') {
    for (let row = 0; row < height; row += rowsPerStrip) {
      finish(littleEndianBytes(interleavedRows(raster, row, Math.min(rowsPerStrip, height - row))));
    }
  } else {
    const plane = width * height;
    for (let band = 0; band < bands; band++) {
      for (let row = 0; row < height; row += rowsPerStrip) {
        const from = band * plane + row * width;
        finish(littleEndianBytes(raster.data.subarray(from, from + Math.min(rowsPerStrip, height - row) * width)));
      }
    }
  }
  return { strips, rowsPerStrip };
}

function fieldBytes(field: FieldToWrite): Uint8Array {
  if (typeof field.value === 'string') {
    const bytes = new Uint8Array(field.value.length + 1);
    for (let i = 0; i < field.value.length; i++) bytes[i] = field.value.charCodeAt(i) & 0xff;
    return bytes;
  }
  const size = FIELD_TYPE_SIZES[field.type]!;
  const bytes = new Uint8Array(size * field.value.length);
  const view = new DataView(bytes.buffer);
  field.value.forEach((v, i) => {
    if (field.type === FieldType.SHORT) view.setUint16(i * 2, v, true);
    else if (field.type === FieldType.LONG) view.setUint32(i * 4, v, true);
    else if (field.type === FieldType.DOUBLE) view.setFloat64(i * 8, v, true);
    else throw new Error(`field type ${field.type} is not written by this TIFF writer`);
  });
  return bytes;
}

/**
 * A baseline little-endian TIFF: strips (uncompressed or Adobe deflate), chunky or planar samples, GDAL_NODATA and
 * GDAL_METADATA band names when the raster has them, and any extra fields (GeoTIFF tags). Classic TIFF, so < 4 GiB.
 */
export function writeTiff(raster: Raster, options: TiffWriteOptions): Uint8Array {
  const { width, height, bands, dtype } = raster;
  const { strips, rowsPerStrip } = stripsOf(raster, options);
  const rgb = (bands === 3 || bands === 4) && (dtype === 'uint8' || dtype === 'uint16');
  const extraSamples = bands - (rgb ? 3 : 1);

  const chunks: Uint8Array[] = [new Uint8Array(8)];
  let offset = 8;
  const append = (bytes: Uint8Array): number => {
    const at = offset;
    chunks.push(bytes);
    offset += bytes.length;
    if (offset % 2 === 1) {
      chunks.push(new Uint8Array(1));
      offset += 1;
    }
    return at;
  };
  const stripOffsets = strips.map(append);

  const fields: FieldToWrite[] = [
    { tag: Tag.ImageWidth, type: FieldType.LONG, value: [width] },
    { tag: Tag.ImageLength, type: FieldType.LONG, value: [height] },
    { tag: Tag.BitsPerSample, type: FieldType.SHORT, value: new Array<number>(bands).fill(bytesPerSample(dtype) * 8) },
    { tag: Tag.Compression, type: FieldType.SHORT, value: [options.compression === 'deflate' ? 8 : 1] },
    { tag: Tag.Photometric, type: FieldType.SHORT, value: [rgb ? PHOTOMETRIC_RGB : PHOTOMETRIC_MIN_IS_BLACK] },
    { tag: Tag.StripOffsets, type: FieldType.LONG, value: stripOffsets },
    { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, value: [bands] },
    { tag: Tag.RowsPerStrip, type: FieldType.LONG, value: [rowsPerStrip] },
    { tag: Tag.StripByteCounts, type: FieldType.LONG, value: strips.map((s) => s.length) },
    { tag: Tag.PlanarConfiguration, type: FieldType.SHORT, value: [options.interleave === 'pixel' ? 1 : 2] },
    { tag: Tag.SampleFormat, type: FieldType.SHORT, value: new Array<number>(bands).fill(SAMPLE_FORMAT[dtype]) },
    ...(options.extraFields ?? []),
  ];
  if (extraSamples > 0) fields.push({ tag: Tag.ExtraSamples, type: FieldType.SHORT, value: new Array<number>(extraSamples).fill(EXTRA_SAMPLE_UNSPECIFIED) });
  const metadata = bandNamesMetadata(raster.bandNames);
  if (metadata !== undefined) fields.push({ tag: Tag.GdalMetadata, type: FieldType.ASCII, value: metadata });
  if (raster.nodata !== undefined) fields.push({ tag: Tag.GdalNodata, type: FieldType.ASCII, value: nodataText(raster.nodata) });
  fields.sort((a, b) => a.tag - b.tag);

  const entries = new Uint8Array(2 + fields.length * 12 + 4);
  const entryView = new DataView(entries.buffer);
  entryView.setUint16(0, fields.length, true);
  fields.forEach((field, i) => {
    const bytes = fieldBytes(field);
    const at = 2 + i * 12;
    entryView.setUint16(at, field.tag, true);
    entryView.setUint16(at + 2, field.type, true);
    entryView.setUint32(at + 4, typeof field.value === 'string' ? bytes.length : field.value.length, true);
    if (bytes.length <= 4) entries.set(bytes, at + 8);
    else entryView.setUint32(at + 8, append(bytes), true);
  });
  const directoryOffset = append(entries);
  if (offset > 0xffffffff) {
    throw new DiffusekitError('ENCODE_FAILED', `The TIFF would be ${offset} bytes; classic TIFF holds at most 4 GiB (BigTIFF is not written), so crop or tile the raster first`);
  }

  const header = new DataView(chunks[0]!.buffer);
  header.setUint16(0, 0x4949, false);
  header.setUint16(2, 42, true);
  header.setUint32(4, directoryOffset, true);
  const out = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
