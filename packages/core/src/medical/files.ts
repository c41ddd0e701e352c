import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DiffusekitError, invalidOption, throwIfAborted } from '../errors.js';
import { writeFileAtomic } from '../codecs/image-file.js';
import { resolveMaxPixels } from '../codecs/limits.js';
import { decodeDicomSeries, isDicom, readDicomSeriesHeader } from './dicom.js';
import { encodeVolume } from './codec.js';
import { niftiHeaderBytes, niftiSampleBytes } from './nifti.js';
import type { Volume, VolumeHeader } from './types.js';

/** Files of a folder that may be slices of a series: regular, not hidden, not a DICOMDIR index; sorted by name. */
async function seriesFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.toUpperCase() !== 'DICOMDIR')
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The DICOM files of a folder, read whole (files without "DICM" at byte 128 are skipped). */
async function readSeriesFolder(folder: string, signal?: AbortSignal): Promise<{ views: Uint8Array[]; names: string[] }> {
  const views: Uint8Array[] = [];
  const names: string[] = [];
  for (const name of await seriesFiles(folder)) {
    throwIfAborted(signal);
    const bytes = await readFile(join(folder, name), signal ? { signal } : {});
    if (!isDicom(bytes)) continue;
    views.push(bytes);
    names.push(name);
  }
  if (views.length === 0) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `The folder ${folder} holds no DICOM Part-10 files; a folder input is read as one DICOM series`, { details: { path: folder } });
  }
  return { views, names };
}

export async function isFolder(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** Decodes a folder holding one DICOM series (one file per slice) into a volume sorted along the slice normal. */
export async function readDicomSeriesFolder(folder: string, options: { maxPixels?: number; signal?: AbortSignal } = {}): Promise<Volume> {
  const { views, names } = await readSeriesFolder(folder, options.signal);
  return decodeDicomSeries(views, names, resolveMaxPixels(options.maxPixels));
}

/** The header of a DICOM series folder (every file's header is read; no pixel data is decoded). */
export async function readDicomSeriesFolderHeader(folder: string, options: { signal?: AbortSignal } = {}): Promise<VolumeHeader> {
  const { views, names } = await readSeriesFolder(folder, options.signal);
  return readDicomSeriesHeader(views, names);
}

export interface WriteVolumeFileOptions {
  /** Default: from the path (.nii, .nii.gz: NIfTI; .dcm: DICOM), else the volume's source format. */
  format?: 'dicom' | 'nifti';
  /** NIfTI: gzip; default true unless the path ends in .nii. */
  gzip?: boolean;
  /** DICOM: what made the derived series (DerivationDescription, appended to SeriesDescription). */
  derivation?: string;
  signal?: AbortSignal;
}

export function volumeFormatFor(path: string, volume: Volume, format: unknown): 'dicom' | 'nifti' {
  if (format !== undefined) {
    if (format !== 'dicom' && format !== 'nifti') throw invalidOption('format', "'dicom' or 'nifti' for a volume", format);
    return format;
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return 'nifti';
  if (lower.endsWith('.dcm')) return 'dicom';
  return volume.medical.format;
}

/** Moves a finished temporary folder over `target`, replacing what was there only once the new one is complete. */
async function replaceFolder(temporary: string, target: string): Promise<void> {
  const existing = await stat(target).then(() => true, () => false);
  if (!existing) {
    await rename(temporary, target);
    return;
  }
  const old = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(6).toString('hex')}.old`);
  await rename(target, old);
  try {
    await rename(temporary, target);
  } catch (error) {
    await rename(old, target).catch(() => undefined);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Writes a volume atomically. NIfTI is one file (.nii or .nii.gz). DICOM is one file when the source was a single
 * (possibly multi-frame) file, else a folder at `path` with one file per slice (IM00001.dcm, ...), built in a
 * temporary folder beside it and renamed into place: readers never see a partial series.
 */
export async function writeVolumeFile(path: string, volume: Volume, options: WriteVolumeFileOptions = {}): Promise<{ path: string; format: 'dicom' | 'nifti'; bytes: number; files: number }> {
  if (typeof path !== 'string' || path === '') throw invalidOption('path', 'a non-empty file path', path);
  throwIfAborted(options.signal);
  const format = volumeFormatFor(path, volume, options.format);
  const gzip = options.gzip ?? !path.toLowerCase().endsWith('.nii');
  const buffers = encodeVolume(volume, { format, gzip, ...(options.derivation ? { derivation: options.derivation } : {}) });
  const bytes = buffers.reduce((n, b) => n + b.length, 0);
  if (buffers.length === 1) {
    await writeFileAtomic(path, buffers[0]!, options.signal);
    return { path, format, bytes, files: 1 };
  }
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(temporary);
    const digits = Math.max(5, String(buffers.length).length);
    for (const [n, buffer] of buffers.entries()) {
      throwIfAborted(options.signal);
      await writeFileAtomic(join(temporary, `IM${String(n + 1).padStart(digits, '0')}.dcm`), buffer, options.signal);
    }
    throwIfAborted(options.signal);
    await replaceFolder(temporary, path);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof DiffusekitError) throw error;
    throw new DiffusekitError('IO_FAILED', `Could not write ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { path } });
  }
  return { path, format, bytes, files: buffers.length };
}

/**
 * Writes `count` volumes of one shape as a 4-D NIfTI-1 file (dim[4] = count), atomically, with one volume in memory at
 * a time: each is encoded and streamed (gzipped unless the path ends in .nii) into a temporary file beside `path` as
 * `volumes` yields it, and the file is renamed into place only once all `count` have come. Geometry and value mapping
 * come from the first volume; every other must match its size, dtype and bands (INVALID_ARGUMENT otherwise). On any
 * error or abort nothing is left at `path` (an existing file stays as it was).
 */
export async function writeNiftiSeriesFile(path: string, count: number, volumes: AsyncIterable<Volume>, options: { gzip?: boolean; signal?: AbortSignal } = {}): Promise<{ path: string; bytes: number; volumes: number }> {
  async function* single(): AsyncGenerator<Volume[]> {
    for await (const volume of volumes) yield [volume];
  }
  const [written] = await writeNiftiSeriesFiles([path], count, single(), options);
  return written!;
}

/**
 * Several 4-D NIfTI files written side by side from one pass over a series (e.g. labels and uncertainty of every
 * volume of an fMRI run): `series` yields, per time point, one volume for each path, in the order of `paths`. Each file
 * streams as writeNiftiSeriesFile does and follows its rules on its own volumes; all are renamed into place only once
 * every file is complete, in the order of `paths`, so the last path's presence says that all of them are there. On any
 * error or abort none is left (existing files stay as they were).
 */
export async function writeNiftiSeriesFiles(paths: readonly string[], count: number, series: AsyncIterable<readonly Volume[]>, options: { gzip?: boolean; signal?: AbortSignal } = {}): Promise<{ path: string; bytes: number; volumes: number }[]> {
  if (!Array.isArray(paths) || paths.length === 0 || paths.some((p) => typeof p !== 'string' || p === '') || new Set(paths).size !== paths.length) {
    throw invalidOption('paths', 'a list of distinct non-empty file paths', paths);
  }
  if (!Number.isInteger(count) || count < 1) throw invalidOption('count', 'a positive integer', count);
  const outputs = paths.map((path) => ({
    path,
    gzip: options.gzip ?? !path.toLowerCase().endsWith('.nii'),
    temporary: join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`),
    source: new PassThrough(),
    first: undefined as Volume | undefined,
  }));
  const pipes = outputs.map((o) => {
    const sink = createWriteStream(o.temporary, { flags: 'wx' });
    return (o.gzip ? pipeline(o.source, createGzip(), sink) : pipeline(o.source, sink)).catch((error: unknown) => {
      throw new DiffusekitError('IO_FAILED', `Could not write ${o.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { path: o.path } });
    });
  });
  // A file that fails to write (disk full, permissions) must stop the pass, not leave the writer waiting to drain.
  const broken = new Promise<never>((_, reject) => pipes.forEach((p) => p.catch(reject)));
  broken.catch(() => undefined);
  const send = async (o: (typeof outputs)[number], bytes: Uint8Array): Promise<void> => {
    if (!o.source.write(bytes)) await Promise.race([once(o.source, 'drain'), broken]);
  };
  let current = outputs[0]!.path;
  try {
    let written = 0;
    for await (const volumes of series) {
      throwIfAborted(options.signal);
      if (written === count) throw new DiffusekitError('INVALID_ARGUMENT', `More than the ${count} volumes announced for ${paths.join(', ')}`);
      if (!Array.isArray(volumes) || volumes.length !== outputs.length) {
        throw new DiffusekitError('INVALID_ARGUMENT', `Time point ${written} came with ${Array.isArray(volumes) ? volumes.length : 'no list of'} volumes; ${outputs.length} files (${paths.join(', ')}) need one each`);
      }
      for (const [i, o] of outputs.entries()) {
        const volume = volumes[i]!;
        current = o.path;
        if (!o.first) {
          o.first = volume;
          await send(o, niftiHeaderBytes(volume, count));
        } else if (volume.width !== o.first.width || volume.height !== o.first.height || volume.depth !== o.first.depth || volume.dtype !== o.first.dtype || (volume.bands ?? 1) !== (o.first.bands ?? 1)) {
          throw new DiffusekitError('INVALID_ARGUMENT', `Volume ${written} is ${volume.width}x${volume.height}x${volume.depth} ${volume.dtype}; a 4-D NIfTI needs every volume like volume 0 (${o.first.width}x${o.first.height}x${o.first.depth} ${o.first.dtype})`, { details: { path: o.path } });
        }
        await send(o, niftiSampleBytes(volume));
      }
      written++;
    }
    if (written !== count) throw new DiffusekitError('INVALID_ARGUMENT', `${written} volumes came for ${paths.join(', ')}; ${count} were announced`);
    for (const o of outputs) o.source.end();
    await Promise.all(pipes);
    for (const o of outputs) {
      current = o.path;
      const handle = await open(o.temporary, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    throwIfAborted(options.signal);
    for (const o of outputs) {
      current = o.path;
      await rename(o.temporary, o.path);
    }
  } catch (error) {
    for (const o of outputs) o.source.destroy();
    await Promise.allSettled(pipes);
    await Promise.all(outputs.map((o) => unlink(o.temporary).catch(() => undefined)));
    if (error instanceof DiffusekitError) throw error;
    throw new DiffusekitError('IO_FAILED', `Could not write ${current}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { path: current } });
  }
  return Promise.all(outputs.map(async (o) => ({ path: o.path, bytes: (await stat(o.path)).size, volumes: count })));
}
