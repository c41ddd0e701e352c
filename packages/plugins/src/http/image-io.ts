import { DiffusekitError, IMAGE_FORMATS, invalidOption, readImageHeader, type ImageFormat, type ImageHeader } from '@diffusekit/core';

const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  tiff: 'image/tiff',
  geotiff: 'image/tiff',
  dicom: 'application/dicom',
  nifti: 'application/gzip',
};

const EXTENSIONS: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', tiff: 'tif', geotiff: 'tif', dicom: 'dcm', nifti: 'nii.gz' };

export function contentTypeOf(format: ImageFormat): string {
  return CONTENT_TYPES[format];
}

/** The usual file extension of a format, without the dot (jpg, tif, nii.gz, ...). */
export function extensionOf(format: ImageFormat): string {
  return EXTENSIONS[format];
}

export function fileNameFor(format: ImageFormat, stem = 'result'): string {
  return `${stem}.${extensionOf(format)}`;
}

/** The `format` parameter: one of the codec's formats (jpg and tif accepted as spellings), or undefined. */
export function parseOutputFormat(value: unknown): ImageFormat | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  const normalised = text === 'jpg' ? 'jpeg' : text === 'tif' ? 'tiff' : text;
  if (typeof normalised !== 'string' || !(IMAGE_FORMATS as readonly string[]).includes(normalised)) {
    throw invalidOption('format', `one of ${IMAGE_FORMATS.join(', ')}`, value);
  }
  return normalised as ImageFormat;
}

/**
 * Reads only the header (format and size) and refuses images over the pixel limit before any pixel is decoded.
 * EMPTY_INPUT, UNSUPPORTED_FORMAT, DECODE_FAILED and IMAGE_TOO_LARGE come from here.
 */
export async function checkImageHeader(bytes: Uint8Array, maxPixels: number): Promise<ImageHeader> {
  const header = await readImageHeader(bytes);
  // A DICOM or NIfTI volume counts every voxel of every slice.
  const depth = header.depth ?? 1;
  const pixels = header.width * header.height * depth;
  if (pixels > maxPixels) {
    throw new DiffusekitError(
      'IMAGE_TOO_LARGE',
      `The image is ${header.width}x${header.height}${depth > 1 ? `x${depth}` : ''} = ${pixels} ${depth > 1 ? 'voxels' : 'pixels'}, more than this server's limit of ${maxPixels}`,
      { details: { width: header.width, height: header.height, ...(depth > 1 ? { depth } : {}), pixels, maxPixels } },
    );
  }
  return header;
}
