import { detectFormat } from './detect-format.js';
import { toByteView } from './input-bytes.js';
import { readSharpHeader } from './sharp-decode.js';
import { readTiffHeader } from './tiff-decode.js';
import type { ImageBytes, ImageHeader } from './types.js';

/** Format, size, band count and dtype of an encoded image, read from its header without decoding pixels. */
export async function readImageHeader(bytes: ImageBytes): Promise<ImageHeader> {
  const view = toByteView(bytes);
  const format = detectFormat(view);
  return format === 'tiff' || format === 'geotiff' ? readTiffHeader(view) : readSharpHeader(view, format);
}
