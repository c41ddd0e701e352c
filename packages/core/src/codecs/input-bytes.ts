import { DiffusekitError, invalidOption } from '../errors.js';
import type { ImageBytes } from './types.js';

/** A Uint8Array view of the input (no copy); EMPTY_INPUT for zero bytes, INVALID_OPTION for anything not bytes. */
export function toByteView(bytes: ImageBytes): Uint8Array {
  let view: Uint8Array;
  if (bytes instanceof Uint8Array || Object.prototype.toString.call(bytes) === '[object Uint8Array]') view = bytes as Uint8Array;
  else if (bytes instanceof ArrayBuffer || Object.prototype.toString.call(bytes) === '[object ArrayBuffer]') view = new Uint8Array(bytes as ArrayBuffer);
  else throw invalidOption('bytes', 'a Buffer, Uint8Array or ArrayBuffer of encoded image data', bytes);
  if (view.byteLength === 0) throw new DiffusekitError('EMPTY_INPUT', 'The image data is empty (0 bytes); expected the bytes of a PNG, JPEG, WebP, TIFF, GeoTIFF, DICOM or NIfTI file');
  return view;
}

/** An ArrayBuffer holding exactly these bytes, copied only when the view does not span its whole buffer. */
export function toExactArrayBuffer(view: Uint8Array): ArrayBuffer {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength) return buffer;
  // Not view.slice(): on a Buffer that returns a view of the same (often pooled) memory.
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return copy.buffer;
}
