export { IMAGE_FORMATS } from './types.js';
export type {
  DecodedImage,
  DecodeOptions,
  EncodeOptions,
  ImageBytes,
  ImageFormat,
  ImageHeader,
  TiffCompression,
  WriteImageFileOptions,
} from './types.js';
export { detectFormat } from './detect-format.js';
export { readImageHeader } from './read-header.js';
export { decodeImage } from './decode-image.js';
export { encodeImage } from './encode-image.js';
export { readImageFile, readImageFileBytes, readImageFileHeader, resolveOutputFormat, writeFileAtomic, writeImageFile } from './image-file.js';
export { DEFAULT_MAX_PIXELS } from './limits.js';
export { estimateJpegQuality, ijgLuminanceTable, readLuminanceTable, type JpegQualityEstimate } from './jpeg-quality.js';
