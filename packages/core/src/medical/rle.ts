import { DiffusekitError } from '../errors.js';

const HEADER_BYTES = 64;
const MAX_SEGMENTS = 15;

/**
 * Decodes one frame of DICOM RLE Lossless (PS3.5 Annex G) into little-endian samples of `bytes` each, one plane per
 * component (colour: R, G, B or Y, Cb, Cr planes). The frame is a 64-byte header (the segment count, then 15 segment
 * offsets from the frame's start) and one PackBits-coded segment per byte of each component's sample, the most
 * significant byte's segment first. No maintained npm package decodes it on its own (docs/adr/0006), and the scheme
 * is short enough to check against the standard line by line.
 */
export function decodeRleFrame(encoded: Uint8Array, expected: { width: number; height: number; bytes: number; components?: number }, where: string): Uint8Array {
  const corrupt = (what: string, details: Record<string, unknown> = {}): DiffusekitError =>
    new DiffusekitError('DECODE_FAILED', `${where}: the RLE Lossless frame ${what}`, { details: { transferSyntax: '1.2.840.10008.1.2.5', ...details } });
  if (encoded.length < HEADER_BYTES) throw corrupt(`is ${encoded.length} bytes, shorter than its 64-byte header`);
  const header = new DataView(encoded.buffer, encoded.byteOffset, HEADER_BYTES);
  const segments = header.getUint32(0, true);
  const components = expected.components ?? 1;
  if (segments !== expected.bytes * components) {
    throw corrupt(`has ${segments} segment(s) but the header states ${components} sample(s) of ${expected.bytes * 8} bits (${expected.bytes * components} segment(s))`, { segments });
  }
  const offsets = Array.from({ length: MAX_SEGMENTS }, (_, k) => header.getUint32(4 + 4 * k, true)).slice(0, segments);
  const plane = expected.width * expected.height;
  const out = new Uint8Array(plane * expected.bytes * components);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segments ? offsets[s + 1]! : encoded.length;
    if (start < HEADER_BYTES || end > encoded.length || end < start) throw corrupt(`has segment ${s + 1} at bytes ${start}-${end} of ${encoded.length}`, { offsets });
    // Within a component, its first segment holds the most significant bytes; the output is little-endian.
    const component = Math.floor(s / expected.bytes);
    const byteInSample = component * plane * expected.bytes + expected.bytes - 1 - (s % expected.bytes);
    const decoded = unpackBits(encoded, start, end, out, byteInSample, expected.bytes, plane);
    if (decoded < plane) throw corrupt(`segment ${s + 1} decodes to ${decoded} bytes; the image needs ${plane}`, { decoded, plane });
  }
  return out;
}

/**
 * PackBits: a control byte n (signed) followed by n + 1 literal bytes (0 <= n <= 127), or by one byte repeated 1 - n
 * times (-127 <= n <= -1); -128 is a no-op. Writes the first `plane` decoded bytes into `out` at `byteInSample` of
 * every `stride`-byte sample and returns how many were decoded (more than `plane` only where an encoder padded the
 * segment to an even length, which is allowed; those are dropped).
 */
function unpackBits(src: Uint8Array, start: number, end: number, out: Uint8Array, byteInSample: number, stride: number, plane: number): number {
  let at = start;
  let n = 0;
  while (at < end && n < plane) {
    const control = (src[at++]! << 24) >> 24;
    if (control >= 0) {
      const count = Math.min(control + 1, end - at, plane - n);
      for (let k = 0; k < count; k++) out[(n + k) * stride + byteInSample] = src[at + k]!;
      at += control + 1;
      n += count;
    } else if (control !== -128) {
      if (at >= end) break;
      const value = src[at++]!;
      const count = Math.min(1 - control, plane - n);
      for (let k = 0; k < count; k++) out[(n + k) * stride + byteInSample] = value;
      n += count;
    }
  }
  return n;
}
