import { invalidOption, throwIfAborted } from '../errors.js';
import { checkRect } from '../raster/crop-raster.js';
import { detectFormat } from './detect-format.js';
import { toByteView } from './input-bytes.js';
import { checkJpegStructure, readJpegFrameSize } from './jpeg-structure.js';
import { estimateJpegQuality } from './jpeg-quality.js';
import { checkPixelLimit, resolveMaxPixels } from './limits.js';
import { decodeWithSharp, readSharpHeader } from './sharp-decode.js';
import { decodeTiff, readTiffHeader } from './tiff-decode.js';
import type { DecodedImage, DecodeOptions, ImageBytes } from './types.js';
import { checkSingleVolume, decodeVolume } from '../medical/codec.js';
import { volumeSlice } from '../medical/volume.js';

/**
 * Decodes PNG, JPEG, WebP, TIFF, GeoTIFF, DICOM or NIfTI bytes (format judged from the content) into a planar Raster. The pixel
 * limit is checked from the header before decoding (IMAGE_TOO_LARGE); corrupt data gives DECODE_FAILED.
 */
export async function decodeImage(bytes: ImageBytes, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const view = toByteView(bytes);
  const maxPixels = resolveMaxPixels(options.maxPixels);
  const { window, signal, volumeIndex } = options;
  throwIfAborted(signal);
  const format = detectFormat(view);

  if (format === 'dicom' || format === 'nifti') {
    if (window !== undefined) throw invalidOption('window', `no window for ${format === 'dicom' ? 'DICOM' : 'NIfTI'} input (volumes are read whole; crop slices with cropRaster)`, window);
    const volume = await decodeVolume(view, maxPixels, volumeIndex === undefined ? {} : { volumeIndex });
    throwIfAborted(signal);
    return { raster: volumeSlice(volume, 2, 0), format, volume };
  }

  checkSingleVolume(volumeIndex, `a ${format.toUpperCase()} image`);
  if (format === 'tiff' || format === 'geotiff') {
    if (window !== undefined) {
      const header = await readTiffHeader(view);
      checkRect(window, header.width, header.height, 'window');
    }
    const raster = await decodeTiff(view, maxPixels, window, signal);
    throwIfAborted(signal);
    if (window) raster.origin = { x: window.x, y: window.y };
    return { raster, format: raster.sourceFormat ?? format };
  }

  if (format === 'jpeg') {
    const frame = readJpegFrameSize(view);
    if (frame) checkPixelLimit(frame.width, frame.height, maxPixels);
  }
  const header = await readSharpHeader(view, format);
  if (window !== undefined) checkRect(window, header.width, header.height, 'window');
  checkPixelLimit(header.width, header.height, maxPixels);
  if (format === 'jpeg') checkJpegStructure(view);
  throwIfAborted(signal);
  const raster = await decodeWithSharp(view, header, maxPixels, window);
  throwIfAborted(signal);
  if (window) raster.origin = { x: window.x, y: window.y };
  if (format === 'jpeg') {
    const estimate = estimateJpegQuality(view);
    if (estimate) raster.sourceQuality = estimate.quality;
  }
  return { raster, format };
}
