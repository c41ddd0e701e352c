import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { DiffusekitError, invalidOption, throwIfAborted } from '../errors.js';
import { checkRaster } from '../raster/create-raster.js';
import type { Raster } from '../raster/types.js';
import { decodeImage } from './decode-image.js';
import { encodeImage } from './encode-image.js';
import { readImageHeader, volumeImageHeader } from './read-header.js';
import { isFolder, readDicomSeriesFolder, readDicomSeriesFolderHeader } from '../medical/files.js';
import { checkSingleVolume } from '../medical/codec.js';
import { volumeSlice } from '../medical/volume.js';
import { IMAGE_FORMATS } from './types.js';
import type { DecodedImage, DecodeOptions, ImageFormat, ImageHeader, WriteImageFileOptions } from './types.js';

const EXTENSION_FORMATS: Record<string, ImageFormat | 'tiff-or-geotiff'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jpe': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff-or-geotiff',
  '.tiff': 'tiff-or-geotiff',
  '.gtif': 'geotiff',
  '.gtiff': 'geotiff',
  '.dcm': 'dicom',
  '.nii': 'nifti',
};

function ioError(action: string, path: string, error: unknown): DiffusekitError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (action === 'read' && code === 'ENOENT') {
    return new DiffusekitError('FILE_NOT_FOUND', `No file at ${path}`, { cause: error, details: { path } });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new DiffusekitError('IO_FAILED', `Could not ${action} ${path}: ${reason}`, { cause: error, details: { path, errno: code } });
}

/**
 * Reads and decodes an image file; the format comes from the content, not the extension. A folder is read as one DICOM
 * series (`volume` holds every slice).
 */
export async function readImageFile(path: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (typeof path === 'string' && path !== '' && (await isFolder(path))) {
    if (options.window !== undefined) throw invalidOption('window', 'no window for a DICOM series folder', options.window);
    checkSingleVolume(options.volumeIndex, 'a DICOM series');
    const volume = await readDicomSeriesFolder(path, options);
    return { raster: volumeSlice(volume, 2, 0), format: 'dicom', volume };
  }
  return decodeImage(await readFileBytes(path, options.signal), options);
}

/**
 * Format, size, bands, dtype and (TIFF) nodata, band names and georeference, or (DICOM, NIfTI) depth and medical
 * metadata of an image file or DICOM series folder, without decoding pixels.
 */
export async function readImageFileHeader(path: string, options: { signal?: AbortSignal } = {}): Promise<ImageHeader> {
  if (typeof path === 'string' && path !== '' && (await isFolder(path))) return volumeImageHeader(await readDicomSeriesFolderHeader(path, options));
  return readImageHeader(await readFileBytes(path, options.signal));
}

async function readFileBytes(path: string, signal: AbortSignal | undefined): Promise<Buffer> {
  if (typeof path !== 'string' || path === '') throw invalidOption('path', 'a non-empty file path', path);
  throwIfAborted(signal);
  try {
    return await readFile(path, signal ? { signal } : {});
  } catch (error) {
    throwIfAborted(signal);
    throw ioError('read', path, error);
  }
}

/**
 * The output format: the explicit option, else the extension (.tif/.tiff become 'geotiff' for a georeferenced raster),
 * else the format the raster was decoded from.
 */
export function resolveOutputFormat(path: string, raster: Raster, format: ImageFormat | undefined): ImageFormat {
  if (format !== undefined) return format;
  if (path.toLowerCase().endsWith('.nii.gz')) return 'nifti';
  const byExtension = EXTENSION_FORMATS[extname(path).toLowerCase()];
  if (byExtension === 'tiff-or-geotiff') return raster.geo ? 'geotiff' : 'tiff';
  if (byExtension) return byExtension;
  if (raster.sourceFormat) return raster.sourceFormat;
  throw invalidOption(
    'format',
    `one of ${IMAGE_FORMATS.join(', ')} (the path's extension ${JSON.stringify(extname(path))} names none and the raster has no source format)`,
    format,
  );
}

/** Encodes and writes atomically (see writeFileAtomic). */
export async function writeImageFile(
  path: string,
  raster: Raster,
  options: WriteImageFileOptions = {},
): Promise<{ path: string; format: ImageFormat; bytes: number }> {
  if (typeof path !== 'string' || path === '') throw invalidOption('path', 'a non-empty file path', path);
  const { signal, ...encodeOptions } = options;
  throwIfAborted(signal);
  checkRaster(raster);
  const format = resolveOutputFormat(path, raster, options.format);
  const gzip = format === 'nifti' && encodeOptions.gzip === undefined ? { gzip: !path.toLowerCase().endsWith('.nii') } : {};
  const bytes = await encodeImage(raster, { ...encodeOptions, ...gzip, format });
  throwIfAborted(signal);

  await writeFileAtomic(path, bytes, signal);
  return { path, format, bytes: bytes.length };
}

/**
 * Writes bytes atomically: they go to a temporary file in the same folder, are flushed, then renamed over the target,
 * so readers never see a partial file and nothing is left behind when anything fails (IO_FAILED) or the signal fires.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string, signal?: AbortSignal): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const handle = await open(temporary, 'wx');
    created = true;
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(signal);
    await rename(temporary, path);
    created = false;
  } catch (error) {
    if (created) await unlink(temporary).catch(() => undefined);
    if (error instanceof DiffusekitError) throw error;
    throw ioError('write', path, error);
  }
}
