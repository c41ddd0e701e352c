import { DiffusekitError } from '../errors.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;
const isRestart = (marker: number) => marker >= 0xd0 && marker <= 0xd7;
/** Markers that carry a length-prefixed segment: SOFn/DHT/DAC (C0-CF), SOS/DQT/DNL/DRI/DHP/EXP (DA-DF), APPn, JPGn, COM. */
const hasSegment = (marker: number) => (marker >= 0xc0 && marker <= 0xcf) || (marker >= 0xda && marker <= 0xdf) || (marker >= 0xe0 && marker <= 0xfe);

function corrupt(detail: string): DiffusekitError {
  return new DiffusekitError('DECODE_FAILED', `The JPEG data is corrupt or truncated: ${detail}`);
}

/**
 * Walks the JPEG marker structure up to the end-of-image marker. libjpeg decodes any bit stream after a valid header
 * (random bytes become noise pixels without a warning), so a garbage body is caught here: the entropy-coded data of a
 * real JPEG only contains 0xFF followed by 0x00, a restart marker or a valid marker, and the stream ends with EOI.
 */
export function checkJpegStructure(bytes: Uint8Array): void {
  const length = bytes.length;
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw corrupt('it does not start with the start-of-image marker');
  let at = 2;
  let sawScan = false;
  while (at < length) {
    if (bytes[at] !== 0xff) throw corrupt(`expected a marker at byte ${at} but found 0x${bytes[at]!.toString(16)}`);
    while (at < length && bytes[at] === 0xff) at++; // fill bytes
    if (at >= length) break;
    const marker = bytes[at++]!;
    if (marker === EOI) {
      if (!sawScan) throw corrupt('it ends before any image data');
      return;
    }
    if (marker === TEM || isRestart(marker)) continue;
    if (!hasSegment(marker)) throw corrupt(`invalid marker 0xFF${marker.toString(16).toUpperCase()} at byte ${at - 2}`);
    if (at + 2 > length) break;
    const segmentLength = (bytes[at]! << 8) | bytes[at + 1]!;
    if (segmentLength < 2) throw corrupt(`segment length ${segmentLength} at byte ${at}`);
    at += segmentLength;
    if (marker !== SOS) continue;
    sawScan = true;
    // Entropy-coded data runs until a 0xFF that is followed by something other than a stuffed 0x00 or a restart.
    while (at < length) {
      if (bytes[at] === 0xff && at + 1 < length && bytes[at + 1] !== 0x00 && !isRestart(bytes[at + 1]!)) {
        if (bytes[at + 1] === 0xff) {
          at++;
          continue;
        }
        break;
      }
      at++;
    }
  }
  throw corrupt('the end-of-image marker is missing (the file was cut short)');
}

/** Start-of-frame markers (C0-CF except DHT C4, JPG C8 and DAC CC) carry the image size. */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * Width and height from the JPEG's start-of-frame segment, read from the bytes alone; undefined when no frame
 * header is found before the first scan. libvips refuses a JPEG over 65500 pixels a side while reading its header,
 * so the size a pixel limit is checked against has to come from here.
 */
export function readJpegFrameSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const length = bytes.length;
  if (bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  let at = 2;
  while (at + 3 < length) {
    if (bytes[at] !== 0xff) return undefined;
    while (at < length && bytes[at] === 0xff) at++;
    const marker = bytes[at++]!;
    if (marker === TEM || isRestart(marker)) continue;
    if (marker === SOS || marker === EOI || !hasSegment(marker) || at + 2 > length) return undefined;
    if (isStartOfFrame(marker)) {
      // Segment: length (2), precision (1), height (2), width (2).
      if (at + 7 > length) return undefined;
      return { height: (bytes[at + 3]! << 8) | bytes[at + 4]!, width: (bytes[at + 5]! << 8) | bytes[at + 6]! };
    }
    at += (bytes[at]! << 8) | bytes[at + 1]!;
  }
  return undefined;
}
