import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_MAX_PIXELS,
  DiffusekitError,
  detectFormat,
  readImageFile,
  readImageFileBytes,
  readNiftiVolumes,
  writeImageFile,
  writeNiftiSeriesFile,
  writeVolumeFile,
  type Volume,
  type VolumeAxis,
  type ImageFormat,
  type ImageTaskResult,
  type LoadedTask,
  type Raster,
  type Rect,
} from '@diffusekit/core';
import { runTaskOnVolume, seriesProgress, volumeCountOf } from '../volume-task.js';
import type { FileWorkContext } from './run-batch.js';

/** Builds a task's input from the decoded file (e.g. adds the inpainting mask); default: the raster itself. */
export type TaskInputBuilder = (file: string, raster: Raster, signal: AbortSignal) => Promise<unknown>;

export interface ImageWorkOptions {
  task: LoadedTask<unknown, unknown, ImageTaskResult>;
  inputFor?: TaskInputBuilder;
  /** Raw task options, validated by the task on every run. */
  taskOptions: Record<string, unknown>;
  /** Output format; default: from the output's extension, else the input's format. */
  format?: ImageFormat;
  maxPixels?: number;
  /** Only this rectangle of each input: read directly from a GeoTIFF (georeference shifted), cropped otherwise. */
  window?: Rect;
  /** DICOM and NIfTI volumes: the axis slices are cut across (default 2, k: the acquisition plane). */
  axis?: VolumeAxis;
  /**
   * NIfTI files with several 3-D volumes (fMRI, diffusion): which one to run (see DecodeOptions.volumeIndex), or 'all'
   * to run every one and write a 4-D NIfTI of the results (a file of one volume runs that volume).
   */
  volumeIndex?: number | 'all';
}

/** Decode, run the task, write atomically (nothing is written when anything fails or the run is aborted). */
export function imageFileWork(options: ImageWorkOptions) {
  return async (input: string, output: string, context: FileWorkContext): Promise<Record<string, unknown> | undefined> => {
    context.onProgress({ kind: 'stage', stage: 'decode' });
    if (options.volumeIndex === 'all') {
      const volumes = await volumeCountOf(input, context.signal);
      if (volumes > 1) return seriesWork(options, input, volumes, output, context);
    }
    const decoded = await readImageFile(input, {
      signal: context.signal,
      ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
      ...(options.window ? { window: options.window } : {}),
      ...(typeof options.volumeIndex === 'number' ? { volumeIndex: options.volumeIndex } : {}),
    });
    const { raster } = decoded;
    if (decoded.volume) return volumeWork(options, decoded.volume, output, context);
    const taskInput = options.inputFor ? await options.inputFor(input, raster, context.signal) : raster;
    const result = await options.task.run(taskInput, options.taskOptions, context);
    context.onProgress({ kind: 'stage', stage: 'encode' });
    await mkdir(path.dirname(output), { recursive: true });
    await writeImageFile(output, result.raster, { signal: context.signal, ...(options.format ? { format: options.format } : {}) });
    return result.info;
  };
}

/**
 * A DICOM or NIfTI volume, slice by slice through the task (each slice takes the grey path of an image task, mapped
 * with the volume's value range), written back as a volume of the same format with its geometry scaled.
 */
async function volumeWork(options: ImageWorkOptions, volume: Volume, output: string, context: FileWorkContext): Promise<Record<string, unknown>> {
  if (options.inputFor) {
    throw new DiffusekitError('INVALID_ARGUMENT', 'This task takes more than the image (e.g. an inpainting mask) and works on 2-D images, not on DICOM or NIfTI volumes');
  }
  const axis = options.axis ?? 2;
  const { volume: result, scale, info: first, modelMs, totalMs } = await runTaskOnVolume(options.task, volume, axis, options.taskOptions, context);
  const timing = { modelMs, totalMs };
  context.onProgress({ kind: 'stage', stage: 'encode' });
  await mkdir(path.dirname(output), { recursive: true });
  const model = typeof first?.model === 'string' ? first.model : 'a diffusion model';
  const format = options.format === 'dicom' || options.format === 'nifti' ? options.format : undefined;
  if (options.format !== undefined && format === undefined) {
    throw new DiffusekitError('INVALID_OPTION', `Expected dicom or nifti for the output format of a volume but received ${options.format}`, { details: { option: 'format' } });
  }
  const written = await writeVolumeFile(output, result, {
    signal: context.signal,
    ...(format ? { format } : {}),
    derivation: `diffusekit ${model}${scale > 1 ? ` x${scale}` : ''}`,
  });
  const volumeIndex = volume.medical.nifti?.volumeIndex;
  return { ...first, ...timing, slices: result.medical.dims[axis], axis, ...(volumeIndex !== undefined ? { volumeIndex } : {}), ...(scale > 1 ? { scale } : {}), files: written.files };
}

/**
 * Every volume of a 4-D NIfTI through the task (each slice by slice, as volumeWork does), read and written one volume
 * at a time: the input is inflated once and the 4-D result streamed to a temporary file renamed into place at the end.
 * Progress items count slices over the whole series and name the volume.
 */
async function seriesWork(options: ImageWorkOptions, input: string, volumes: number, output: string, context: FileWorkContext): Promise<Record<string, unknown>> {
  if (options.inputFor) {
    throw new DiffusekitError('INVALID_ARGUMENT', 'This task takes more than the image (e.g. an inpainting mask) and works on 2-D images, not on DICOM or NIfTI volumes');
  }
  if (options.format !== undefined && options.format !== 'nifti') {
    throw new DiffusekitError('INVALID_OPTION', `Expected nifti for the output format of a 4-D NIfTI series but received ${options.format}`, { details: { option: 'format' } });
  }
  const axis = options.axis ?? 2;
  // A pair (.hdr + .img) comes joined into the single file it stands for.
  const bytes = await readImageFileBytes(input, { signal: context.signal });
  let first: Record<string, unknown> | undefined;
  let scale = 1;
  let slices = 0;
  const timing = { modelMs: 0, totalMs: 0 };
  async function* results(): AsyncGenerator<Volume> {
    let t = 0;
    for await (const volume of readNiftiVolumes(bytes, options.maxPixels ?? DEFAULT_MAX_PIXELS, context.signal)) {
      const index = t;
      const onProgress = seriesProgress(context.onProgress, index, volumes);
      const outcome = await runTaskOnVolume(options.task, volume, axis, options.taskOptions, { ...context, onProgress });
      first ??= outcome.info;
      scale = outcome.scale;
      slices = outcome.volume.medical.dims[axis];
      timing.modelMs += outcome.modelMs;
      timing.totalMs += outcome.totalMs;
      t++;
      yield outcome.volume;
    }
  }
  await mkdir(path.dirname(output), { recursive: true });
  const written = await writeNiftiSeriesFile(output, volumes, results(), { signal: context.signal });
  context.onProgress({ kind: 'stage', stage: 'encode' });
  return { ...first, ...timing, slices, axis, volumes, ...(scale > 1 ? { scale } : {}), files: 1, bytes: written.bytes };
}

const COMPLETE_CHECK_BYTES = 4096;

/**
 * An output counts as complete when it exists and starts like an image (a DICOM series folder: when it exists): writes
 * are atomic, so it cannot be partial. The head read is long enough for DICOM's marker at byte 128 and for the gzip
 * prefix of a .nii.gz to inflate to a whole NIfTI header.
 */
export async function isCompleteImage(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) return true;
    if (info.size === 0) return false;
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(COMPLETE_CHECK_BYTES);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      detectFormat(head.subarray(0, bytesRead));
      return true;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
