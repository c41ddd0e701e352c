import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, extname, join } from 'node:path';
import { DiffusekitError, invalidOption, throwIfAborted } from '../errors.js';
import { checkRaster } from '../raster/create-raster.js';
import type { Raster } from '../raster/types.js';
import { decodeImage } from './decode-image.js';
import { encodeImage } from './encode-image.js';
import { readImageHeader, volumeImageHeader } from './read-header.js';
import { isFolder, readDicomSeriesFolder, readDicomSeriesFolderHeader } from '../medical/files.js';
import { isGzip, isNiftiPairHeader, joinNiftiPair, readNiftiHeader } from '../medical/nifti.js';
import { analyzeAsNiftiPairHeader, isAnalyzeHeader } from '../medical/analyze.js';
import { bytesPerSample } from '../raster/dtype.js';
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
  return decodeImage(await readImageFileBytes(path, options.signal ? { signal: options.signal } : {}), options);
}

/**
 * Format, size, bands, dtype and (TIFF) nodata, band names and georeference, or (DICOM, NIfTI) depth and medical
 * metadata of an image file or DICOM series folder, without decoding pixels.
 */
export async function readImageFileHeader(path: string, options: { signal?: AbortSignal } = {}): Promise<ImageHeader> {
  if (typeof path === 'string' && path !== '' && (await isFolder(path))) return volumeImageHeader(await readDicomSeriesFolderHeader(path, options));
  return readImageHeader(await readImageFileBytes(path, { ...options, headerOnly: true }));
}

/**
 * The bytes of an image file, with a NIfTI or ANALYZE 7.5 pair joined into the single NIfTI file it stands for: a .hdr
 * (NIfTI magic "ni1"/"ni2", or an ANALYZE header, translated by analyzeAsNiftiPairHeader) is read with the .img (or
 * .img.gz) of the same name beside it, and an .img given by name with its .hdr. With `headerOnly`, a pair gives its
 * header alone (the .img is not read). Every other file comes back as it is.
 */
export async function readImageFileBytes(path: string, options: { signal?: AbortSignal; headerOnly?: boolean } = {}): Promise<Uint8Array> {
  const { signal, headerOnly = false } = options;
  const pairImage = /\.img(\.gz)?$/i.test(typeof path === 'string' ? path : '');
  if (pairImage) {
    const hdr = path.replace(/\.img(\.gz)?$/i, '.hdr');
    if (await exists(hdr)) {
      const header = requiredPairHeader(await readFileBytes(hdr, signal), hdr);
      return headerOnly ? joinNiftiPair(header) : readNiftiPair(header, path, signal);
    }
  }
  const bytes = await readFileBytes(path, signal);
  const header = pairHeader(bytes);
  if (!header) return bytes;
  if (headerOnly) return joinNiftiPair(header);
  const stem = path.replace(/\.hdr$/i, '');
  const img = (await exists(`${stem}.img`)) ? `${stem}.img` : (await exists(`${stem}.img.gz`)) ? `${stem}.img.gz` : undefined;
  if (!img) {
    const kind = isAnalyzeHeader(bytes) ? 'an ANALYZE 7.5' : 'a NIfTI';
    throw new DiffusekitError('FILE_NOT_FOUND', `${path} is the header of ${kind} pair, but neither ${stem}.img nor ${stem}.img.gz is beside it`, { details: { path: `${stem}.img` } });
  }
  return readNiftiPair(header, img, signal);
}

/** The NIfTI pair header a .hdr holds: its own bytes (magic "ni1"/"ni2") or an ANALYZE 7.5 header translated; else undefined. */
function pairHeader(bytes: Uint8Array): Uint8Array | undefined {
  if (isNiftiPairHeader(bytes)) return bytes;
  if (isAnalyzeHeader(bytes)) return analyzeAsNiftiPairHeader(bytes);
  return undefined;
}

/** pairHeader of the .hdr an .img was named with: UNSUPPORTED_FORMAT when it is neither kind. */
function requiredPairHeader(bytes: Uint8Array, hdrPath: string): Uint8Array {
  const header = pairHeader(bytes);
  if (header) return header;
  throw new DiffusekitError('UNSUPPORTED_FORMAT', `${hdrPath} is neither a NIfTI pair header (magic "ni1" or "ni2") nor an ANALYZE 7.5 header (sizeof_hdr 348), so the .img beside it cannot be read`, {
    details: { path: hdrPath, format: 'nifti' },
  });
}

async function readNiftiPair(header: Uint8Array, imgPath: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let img: Uint8Array = await readFileBytes(imgPath, signal);
  if (isGzip(img)) {
    // Inflated no further than the voxels the header states (and a megabyte of offset): a bomb cannot make it allocate more.
    const stated = readNiftiHeader(joinNiftiPair(header));
    const nifti = stated.medical.nifti!;
    const limit = stated.width * stated.height * stated.depth * nifti.volumes * bytesPerSample(stated.dtype) + (1 << 20);
    try {
      img = gunzipSync(img, { maxOutputLength: limit });
    } catch (error) {
      throw new DiffusekitError('DECODE_FAILED', `${imgPath} is not a valid gzip stream: ${error instanceof Error ? error.message : String(error)}`, { details: { path: imgPath } });
    }
  }
  return joinNiftiPair(header, img);
}

const exists = (path: string): Promise<boolean> => stat(path).then((s) => s.isFile(), () => false);

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
