import { detectFormat } from './detect-format.js';
import { toByteView } from './input-bytes.js';
import { readSharpHeader } from './sharp-decode.js';
import { readTiffHeader } from './tiff-decode.js';
import type { ImageBytes, ImageHeader } from './types.js';
import { readVolumeHeader } from '../medical/codec.js';
import type { VolumeHeader } from '../medical/types.js';

/** Format, size, band count and dtype of an encoded image, read from its header without decoding pixels. */
export async function readImageHeader(bytes: ImageBytes): Promise<ImageHeader> {
  const view = toByteView(bytes);
  const format = detectFormat(view);
  if (format === 'dicom' || format === 'nifti') return volumeImageHeader(readVolumeHeader(view));
  return format === 'tiff' || format === 'geotiff' ? readTiffHeader(view) : readSharpHeader(view, format);
}

/** A volume's header as an image header: one slice's size, one band, and the depth and medical metadata beside. */
export function volumeImageHeader(header: VolumeHeader): ImageHeader {
  const volumes = header.medical.nifti?.volumes;
  return { format: header.format, width: header.width, height: header.height, bands: header.bands ?? 1, dtype: header.dtype, depth: header.depth, ...(volumes !== undefined ? { volumes } : {}), medical: header.medical };
}
