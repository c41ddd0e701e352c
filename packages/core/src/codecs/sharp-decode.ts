import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { DiffusekitError } from '../errors.js';
import { allocateSamples } from '../raster/dtype.js';
import type { Raster, Rect } from '../raster/types.js';
import { checkPixelLimit } from './limits.js';
import type { ImageHeader } from './types.js';

type SharpFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

const FORMAT_NAMES: Record<SharpFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', tiff: 'TIFF' };

function asBuffer(view: Uint8Array): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function libvipsFailure(error: unknown, what: string): DiffusekitError {
  const detail = (error instanceof Error ? error.message : String(error)).trim().replace(/:$/, '');
  return new DiffusekitError('DECODE_FAILED', `${what} (libvips: ${detail})`, { cause: error });
}

/** Bands as decoded: CMYK is converted to RGB (alpha kept), every other layout keeps its bands, alpha included. */
function bandsOf(metadata: Metadata): number {
  return metadata.space === 'cmyk' ? 3 + (metadata.hasAlpha ? 1 : 0) : metadata.channels;
}

/** Reads the header through libvips, which parses only the file header (no pixel is decoded). */
export async function readSharpHeader(view: Uint8Array, format: SharpFormat): Promise<ImageHeader> {
  let metadata: Metadata;
  try {
    metadata = await sharp(asBuffer(view), { limitInputPixels: false }).metadata();
  } catch (error) {
    throw libvipsFailure(error, `The ${FORMAT_NAMES[format]} header is corrupt or truncated`);
  }
  if (metadata.depth !== 'uchar' && metadata.depth !== 'ushort') {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `${FORMAT_NAMES[format]} samples of libvips depth '${metadata.depth}' are not supported; accepted: 8 or 16 bits per sample`);
  }
  return {
    format,
    width: metadata.width,
    height: metadata.height,
    bands: bandsOf(metadata),
    dtype: metadata.depth === 'ushort' ? 'uint16' : 'uint8',
  };
}

/**
 * Decodes to exact sample values: ICC profiles are ignored (no colour conversion), 16-bit stays 16-bit (grey16 /
 * rgb16), EXIF orientation is not applied, and alpha is kept as a band. The window is cut out after decoding.
 */
export async function decodeWithSharp(view: Uint8Array, header: ImageHeader, maxPixels: number, window: Rect | undefined): Promise<Raster> {
  checkPixelLimit(header.width, header.height, maxPixels);
  const sixteen = header.dtype === 'uint16';
  const bands = header.bands;
  let image = sharp(asBuffer(view), { limitInputPixels: maxPixels, failOn: 'warning', ignoreIcc: true, sequentialRead: true });
  // libvips's 8-bit 'b-w' output drops alpha, so 8-bit grey+alpha is read as RGBA and bands 0 and 3 are kept.
  image = image.toColourspace(sixteen ? (bands <= 2 ? 'grey16' : 'rgb16') : bands === 1 ? 'b-w' : 'srgb');
  if (window) image = image.extract({ left: window.x, top: window.y, width: window.width, height: window.height });
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await image.raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw libvipsFailure(error, `The ${FORMAT_NAMES[header.format as SharpFormat]} data is corrupt or truncated`);
  }
  const { data, info } = decoded;
  const sourceBands = !sixteen && bands === 2 ? [0, 3] : Array.from({ length: bands }, (_, i) => i);
  const expectedChannels = !sixteen && bands === 2 ? 4 : bands;
  if (info.channels !== expectedChannels) {
    throw new DiffusekitError('DECODE_FAILED', `The ${FORMAT_NAMES[header.format as SharpFormat]} decoder returned ${info.channels} channels where ${expectedChannels} were expected`);
  }
  const interleaved = sixteen
    ? data.byteOffset % 2 === 0
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const width = info.width;
  const height = info.height;
  const plane = width * height;
  const samples = allocateSamples(header.dtype, plane * bands);
  sourceBands.forEach((source, band) => {
    for (let i = 0; i < plane; i++) samples[band * plane + i] = interleaved[i * info.channels + source]!;
  });
  return { width, height, bands, dtype: header.dtype, data: samples, sourceFormat: header.format };
}
