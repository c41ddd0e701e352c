import { DiffusekitError, IMAGE_FORMATS, type ImageFormat, type ImageTaskResult, type LoadedTask, type Rect, type Runtime, type VolumeAxis } from '@diffusekit/core';
import { discoverInputs, planOutputs, type BatchItem } from '../../batch/discover.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { gridFileWork, type GridOptions } from '../../batch/grid-work.js';
import { imageFileWork, isCompleteImage, type ImageWorkOptions, type TaskInputBuilder } from '../../batch/image-file-work.js';
import { runBatch } from '../../batch/run-batch.js';
import { queueFileWork } from '../../batch/queue-file-work.js';
import { connectQueue } from '../../queue/client.js';
import { createBatchReporter, reporterMode } from '../batch-reporter.js';
import type { CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

export interface ImageTaskCommandOptions {
  /** Task used when the model does not pick one among `taskIds`. */
  taskIds: readonly string[];
  model?: string;
  inputs: readonly string[];
  output: string | undefined;
  taskOptions: Record<string, unknown>;
  concurrency: number;
  resume: boolean;
  json: boolean;
  format?: string;
  maxPixels?: number;
  window?: Rect;
  /** Work cell by cell and write a folder of cells plus a VRT mosaic per input (see gridFileWork). */
  grid?: GridOptions;
  /** DICOM and NIfTI volumes: the axis slices are cut across (default 2, the acquisition plane). */
  axis?: VolumeAxis;
  /** NIfTI files with several 3-D volumes: which one to run, or 'all' (a 4-D result). */
  volumeIndex?: number | 'all';
  /** For tasks that take more than the image (inpainting's mask): how each file's input is built. */
  inputsFor?: (items: readonly BatchItem[]) => Promise<TaskInputBuilder>;
  /** Run the files on queue workers: Redis URL, result store folder and key prefix. */
  queue?: { url: string; store?: string; prefix?: string };
}

/** The task among `taskIds` that accepts the model, and the model's id, without loading it (the workers do). */
async function resolveTaskFor(runtime: Runtime, taskIds: readonly string[], model: string | undefined): Promise<{ taskId: string; modelId: string }> {
  const first = runtime.task(taskIds[0]!);
  const resolved = await runtime.catalog.resolve(model ?? first.defaultModel);
  const taskId = taskIds.find((id) => runtime.task(id).accepts(resolved.manifest));
  if (!taskId) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${resolved.manifest.id}" (${resolved.manifest.task}) is not for ${taskIds.join(' or ')}`);
  }
  return { taskId, modelId: resolved.manifest.id };
}

/** The task among `taskIds` that accepts the model (the first task's default model when none is named). */
async function loadTaskFor(runtime: Runtime, taskIds: readonly string[], model: string | undefined): Promise<LoadedTask<unknown, unknown, ImageTaskResult>> {
  const first = runtime.task(taskIds[0]!);
  const resolved = await runtime.catalog.resolve(model ?? first.defaultModel);
  const taskId = taskIds.find((id) => runtime.task(id).accepts(resolved.manifest));
  if (!taskId) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${resolved.manifest.id}" (${resolved.manifest.task}) is not for ${taskIds.join(' or ')}`);
  }
  return runtime.load<unknown, unknown, ImageTaskResult>(taskId, { model: resolved.manifest.id });
}

/** Shared by `upscale` and `restore` (JPEG and inpainting): files and folders in, atomic outputs, resume, progress, per-file errors. */
export async function imageTaskCommand(runtime: Runtime, options: ImageTaskCommandOptions, io: CliIo, signal: AbortSignal): Promise<number> {
  if (options.inputs.length === 0) throw new UsageError('needs at least one input file or folder');
  if (!options.output) throw new UsageError('needs an output: -o <file|dir>');
  if (options.format !== undefined && !(IMAGE_FORMATS as readonly string[]).includes(options.format))
    throw new UsageError(`Expected one of ${IMAGE_FORMATS.join(', ')} for --format but received "${options.format}"`);
  const items = await discoverInputs(options.inputs);
  if (items.length === 0) throw new UsageError(`no images found in ${options.inputs.join(', ')}`);
  const single = options.inputs.length === 1 && items.length === 1 && items[0]!.relative === items[0]!.input.split('/').pop();
  const planned = await planOutputs(items, options.output, single);
  // With a grid, each input's output is a VRT mosaic beside a folder of cells of the same name.
  // A NIfTI pair (.hdr + .img) is written back as one .nii.gz, as NIfTI output of anything else is.
  const pair = /\.(hdr|img)(\.gz)?$/i;
  const outputs = options.grid
    ? new Map([...planned].map(([input, output]) => [input, replaceExtension(output, '.vrt')]))
    : new Map([...planned].map(([input, output]) => [
        input,
        pair.test(output) ? output.replace(pair, '.nii.gz') : options.format === 'nifti' && !/\.nii(\.gz)?$/i.test(output) ? replaceExtension(output, '.nii.gz') : output,
      ]));
  if (options.queue) return queuedImageTaskCommand(runtime, options, options.queue, items, outputs, io, signal);
  const task = await loadTaskFor(runtime, options.taskIds, options.model);
  // Validate options once up front so that a typo fails the command, not every file.
  task.task.parseOptions(options.taskOptions);
  const inputFor = options.inputsFor ? await options.inputsFor(items) : undefined;
  const summary = await runBatch({
    items,
    outputs,
    work: (options.grid ? (work: ImageWorkOptions) => gridFileWork({ ...work, grid: options.grid!, resume: options.resume }) : imageFileWork)({
      task,
      taskOptions: options.taskOptions,
      ...(inputFor ? { inputFor } : {}),
      ...(options.format ? { format: options.format as ImageFormat } : {}),
      ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
      ...(options.window ? { window: options.window } : {}),
      ...(options.axis !== undefined ? { axis: options.axis } : {}),
      ...(options.volumeIndex !== undefined ? { volumeIndex: options.volumeIndex } : {}),
    }),
    isComplete: options.grid ? isCompleteFile : isCompleteImage,
    resume: options.resume,
    concurrency: options.concurrency,
    signal,
    onEvent: createBatchReporter(reporterMode(options.json, io), io),
  });
  return summary.failed === 0 && !summary.aborted ? 0 : 1;
}

/** The same batch on queue workers: same discovery, outputs, resume, progress, report and exit code. */
async function queuedImageTaskCommand(
  runtime: Runtime,
  options: ImageTaskCommandOptions,
  queueFlags: NonNullable<ImageTaskCommandOptions['queue']>,
  items: BatchItem[],
  outputs: ReadonlyMap<string, string>,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  if (options.grid || options.window || options.inputsFor) throw new UsageError('--queue does not take --grid, --window or inpainting masks yet; run those locally');
  if (options.axis !== undefined && options.axis !== 2) throw new UsageError('--queue runs volumes across their acquisition plane only; run --axis locally');
  if (options.volumeIndex === 'all') throw new UsageError('--queue takes one volume of a 4-D NIfTI (--volume N); run --volume all locally');
  for (const item of items) {
    // A DICOM series is a folder of files; a job carries one file's bytes.
    if ((await stat(item.input)).isDirectory()) {
      throw new UsageError(`--queue takes single files; ${item.input} is a DICOM series folder: run it locally, or send a NIfTI or multi-frame DICOM file`);
    }
  }
  const { taskId, modelId } = await resolveTaskFor(runtime, options.taskIds, options.model);
  runtime.task(taskId).parseOptions(options.taskOptions);
  const queue = await connectQueue({ url: queueFlags.url, ...(queueFlags.store ? { store: queueFlags.store } : {}), ...(queueFlags.prefix ? { prefix: queueFlags.prefix } : {}) });
  try {
    const summary = await runBatch({
      items,
      outputs,
      work: queueFileWork({
        queue,
        task: taskId,
        model: modelId,
        taskOptions: options.taskOptions,
        ...(options.format ? { format: options.format as ImageFormat } : {}),
        ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
        ...(typeof options.volumeIndex === 'number' ? { volumeIndex: options.volumeIndex } : {}),
      }),
      isComplete: isCompleteImage,
      resume: options.resume,
      concurrency: options.concurrency,
      signal,
      onEvent: createBatchReporter(reporterMode(options.json, io), io),
    });
    return summary.failed === 0 && !summary.aborted ? 0 : 1;
  } finally {
    await queue.close();
  }
}

function replaceExtension(file: string, extension: string): string {
  const current = /\.nii\.gz$/i.test(file) ? '.nii.gz' : path.extname(file);
  return file.slice(0, file.length - current.length) + extension;
}

/** Written atomically, so an existing non-empty file is a complete one. */
async function isCompleteFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile() && s.size > 0, () => false);
}
