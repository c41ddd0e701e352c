import { DiffusekitError } from '../../errors.js';
import { FIELD_TYPE_SIZES, FieldType } from './tags.js';

export interface TiffField {
  type: number;
  count: number;
  /** Numbers for numeric types (rationals as quotients), text for ASCII (trailing NULs removed). */
  value: number[] | string;
}

/** The first image file directory of a TIFF, with every field read. */
export interface TiffDirectory {
  littleEndian: boolean;
  bigTiff: boolean;
  fields: Map<number, TiffField>;
}

function corrupt(detail: string): DiffusekitError {
  return new DiffusekitError('DECODE_FAILED', `The TIFF structure is corrupt or truncated: ${detail}`);
}

function readValues(view: DataView, offset: number, type: number, count: number, le: boolean): number[] | string {
  if (type === FieldType.ASCII) {
    let text = '';
    for (let i = 0; i < count; i++) text += String.fromCharCode(view.getUint8(offset + i));
    return text.replace(/\0+$/, '');
  }
  const size = FIELD_TYPE_SIZES[type]!;
  const values = new Array<number>(count);
  for (let i = 0, at = offset; i < count; i++, at += size) {
    switch (type) {
      case FieldType.BYTE:
      case FieldType.UNDEFINED:
        values[i] = view.getUint8(at);
        break;
      case FieldType.SBYTE:
        values[i] = view.getInt8(at);
        break;
      case FieldType.SHORT:
        values[i] = view.getUint16(at, le);
        break;
      case FieldType.SSHORT:
        values[i] = view.getInt16(at, le);
        break;
      case FieldType.LONG:
      case FieldType.IFD:
        values[i] = view.getUint32(at, le);
        break;
      case FieldType.SLONG:
        values[i] = view.getInt32(at, le);
        break;
      case FieldType.RATIONAL:
        values[i] = view.getUint32(at, le) / view.getUint32(at + 4, le);
        break;
      case FieldType.SRATIONAL:
        values[i] = view.getInt32(at, le) / view.getInt32(at + 4, le);
        break;
      case FieldType.FLOAT:
        values[i] = view.getFloat32(at, le);
        break;
      case FieldType.DOUBLE:
        values[i] = view.getFloat64(at, le);
        break;
      case FieldType.SLONG8:
        values[i] = Number(view.getBigInt64(at, le));
        break;
      default:
        values[i] = Number(view.getBigUint64(at, le));
    }
  }
  return values;
}

/** Reads the header and first IFD of a classic or BigTIFF file, checking every offset against the data length. */
export function readTiffDirectory(bytes: Uint8Array): TiffDirectory {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.byteLength;
  if (length < 8) throw corrupt(`only ${length} bytes, shorter than a TIFF header`);
  const order = view.getUint16(0, false);
  if (order !== 0x4949 && order !== 0x4d4d) throw corrupt('the byte-order mark is neither II nor MM');
  const le = order === 0x4949;
  const magic = view.getUint16(2, le);
  const bigTiff = magic === 43;
  if (magic !== 42 && !bigTiff) throw corrupt(`version ${magic} is neither 42 (TIFF) nor 43 (BigTIFF)`);
  if (bigTiff && length < 16) throw corrupt('the BigTIFF header is truncated');
  const ifdOffset = bigTiff ? Number(view.getBigUint64(8, le)) : view.getUint32(4, le);
  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  const inlineSize = bigTiff ? 8 : 4;
  if (ifdOffset < 8 || ifdOffset + countSize > length) throw corrupt(`the first directory offset ${ifdOffset} lies outside the ${length} bytes`);
  const entries = bigTiff ? Number(view.getBigUint64(ifdOffset, le)) : view.getUint16(ifdOffset, le);
  if (ifdOffset + countSize + entries * entrySize > length) throw corrupt(`the directory of ${entries} entries runs past the end of the data`);

  const fields = new Map<number, TiffField>();
  for (let i = 0; i < entries; i++) {
    const at = ifdOffset + countSize + i * entrySize;
    const tag = view.getUint16(at, le);
    const type = view.getUint16(at + 2, le);
    const count = bigTiff ? Number(view.getBigUint64(at + 4, le)) : view.getUint32(at + 4, le);
    const size = FIELD_TYPE_SIZES[type];
    if (size === undefined) continue; // unknown field types are skipped, as TIFF 6.0 asks readers to do
    const byteCount = size * count;
    const valueAt = at + (bigTiff ? 12 : 8);
    const dataAt = byteCount <= inlineSize ? valueAt : bigTiff ? Number(view.getBigUint64(valueAt, le)) : view.getUint32(valueAt, le);
    if (dataAt + byteCount > length) throw corrupt(`tag ${tag} points to ${byteCount} bytes at offset ${dataAt}, past the end of the data`);
    fields.set(tag, { type, count, value: readValues(view, dataAt, type, count, le) });
  }
  return { littleEndian: le, bigTiff, fields };
}

export function fieldNumbers(directory: TiffDirectory, tag: number): number[] | undefined {
  const value = directory.fields.get(tag)?.value;
  return Array.isArray(value) ? value : undefined;
}

export function fieldNumber(directory: TiffDirectory, tag: number): number | undefined {
  return fieldNumbers(directory, tag)?.[0];
}

export function fieldText(directory: TiffDirectory, tag: number): string | undefined {
  const value = directory.fields.get(tag)?.value;
  return typeof value === 'string' ? value : undefined;
}
