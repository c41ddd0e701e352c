import {
  DiffusekitError,
  MODEL_ID_PATTERN,
  asDiffusekitError,
  checkVolumeIndex,
  dicomSegBlocker,
  invalidOption,
  labelVolumeInfo,
  throwIfAborted,
  type DType,
  type ImageFormat,
  type ImageTaskResult,
  type JobWork,
  type LoadedTask,
  type Raster,
  type Runtime,
  type Progress,
  type TaskDefinition,
  type Volume,
} from '@diffusekit/core';
import { runTaskOnVolume, type VolumeTaskOutcome } from '../volume-task.js';
import type { CodecThread } from './codec-thread.js';
import { coerceTaskOptions, type TextFields } from './coerce-options.js';
import { contentTypeOf, parseOutputFormat } from './image-io.js';
import { IMAGE_FIELD, type Upload } from './read-upload.js';

/** Everything needed to run one image, checked before it joins the queue so that mistakes answer at once. */
export interface ImageOrder {
  task: TaskDefinition;
  /** The model's id (resolved, so the task's default when none was named). */
  modelId: string;
  /** The task loaded in this process; left out when the work runs on queue workers elsewhere. */
  loaded?: LoadedTask<Raster, unknown, ImageTaskResult>;
  options: Record<string, unknown>;
  format: ImageFormat;
  bytes: Buffer;
  /** 4-D NIfTI uploads: the 3-D volume to run (the "volume" field). */
  volumeIndex?: number;
}

/** The encoded result of an image task. */
export interface ImageResult {
  bytes: Uint8Array;
  format: ImageFormat;
  contentType: string;
  width: number;
  height: number;
  bands: number;
  dtype: DType;
  /** DICOM and NIfTI: slices of the result volume. */
  depth?: number;
  info?: Record<string, unknown>;
}

/** The tasks this adapter can serve: image in, image out. */
export function servedTasks(runtime: Runtime): TaskDefinition[] {
  return runtime.tasks.filter((t) => t.kind === 'image-to-image');
}

export function findServedTask(runtime: Runtime, id: string): TaskDefinition {
  const served = servedTasks(runtime);
  const task = served.find((t) => t.id === id);
  if (!task) {
    const known = served.map((t) => t.id);
    throw new DiffusekitError('TASK_NOT_FOUND', `Unknown task "${id}". Should be one of: ${known.join(', ') || '(no image tasks registered)'}`, {
      details: { task: id, known },
    });
  }
  return task;
}

/** Query parameters as text fields; anything else (nested objects from an "extended" query parser) is refused. */
export function queryToFields(query: unknown): TextFields {
  const fields: TextFields = {};
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) fields[name] = value;
    else throw new DiffusekitError('INVALID_OPTION', `Expected text for query parameter "${name}"`, { details: { option: name } });
  }
  return fields;
}

function mergeFields(query: TextFields, form: TextFields): TextFields {
  for (const name of Object.keys(form)) {
    if (name in query) {
      throw new DiffusekitError('INVALID_OPTION', `"${name}" is given both in the query string and in the form; give it once`, {
        details: { option: name },
      });
    }
  }
  return { ...query, ...form };
}

function singleText(name: string, value: string | string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new DiffusekitError('INVALID_OPTION', `Expected one value for "${name}" but received ${value.length}`, { details: { option: name } });
}

/** Models are named by id only, so a remote caller can never make the server open a path of its choosing. */
function parseModelId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!MODEL_ID_PATTERN.test(value)) {
    throw new DiffusekitError('MODEL_NOT_FOUND', `Expected a model id matching ${MODEL_ID_PATTERN} (see GET /v1/models) but received ${JSON.stringify(value)}`, {
      details: { id: value },
    });
  }
  return value;
}

export interface OrderInput {
  /** The task named in the path; undefined when it comes from the fields (POST /v1/jobs). */
  taskId?: string;
  query: unknown;
  upload: Upload;
  maxPixels: number;
  codecs: CodecThread;
  /** Only resolve and check the model, do not load it: the work runs on queue workers (default false). */
  remote?: boolean;
}

/** Validates task, model, format, options and the image header, then loads the task (cached by the runtime). */
export async function prepareImageOrder(runtime: Runtime, input: OrderInput): Promise<ImageOrder> {
  const fields = mergeFields(queryToFields(input.query), input.upload.fields);
  const { task: taskField, model: modelField, format: formatField, volume: volumeField, ...optionFields } = fields;
  const taskText = singleText('task', taskField);
  if (input.taskId !== undefined && taskText !== undefined) {
    throw new DiffusekitError('INVALID_OPTION', 'The task is named in the path; do not also send a "task" field', { details: { option: 'task' } });
  }
  const taskId = input.taskId ?? taskText;
  if (taskId === undefined) {
    const known = servedTasks(runtime).map((t) => t.id);
    throw new DiffusekitError('INVALID_OPTION', `Expected a task id (one of ${known.join(', ')}) in the field or query parameter "task"`, {
      details: { option: 'task', known },
    });
  }
  const task = findServedTask(runtime, taskId);
  const modelId = parseModelId(singleText('model', modelField));
  const requestedFormat = parseOutputFormat(singleText('format', formatField));
  const volumeIndex = parseVolumeIndex(singleText('volume', volumeField));
  const options = coerceTaskOptions(task.id, task.options, optionFields);
  task.parseOptions(options); // INVALID_OPTION now rather than after waiting in the queue

  if (input.upload.image.length === 0) {
    const how = input.upload.via === 'multipart' ? `a file in the field "${IMAGE_FIELD}"` : 'the image as the request body';
    throw new DiffusekitError('EMPTY_INPUT', `The request carries no image; send ${how}`);
  }
  const header = await input.codecs.header(input.upload.image, input.maxPixels);
  if (header.depth !== undefined) checkVolumeFormat(header.format, requestedFormat);
  checkVolumeIndex(header, volumeIndex);
  const volume = volumeIndex !== undefined ? { volumeIndex } : {};
  const format = requestedFormat ?? header.format;
  if (input.remote) {
    const model = await runtime.catalog.resolve(modelId ?? task.defaultModel);
    if (!task.accepts(model.manifest)) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${model.manifest.id}" (task ${model.manifest.task}) cannot be used by task "${task.id}"`, {
        details: { task: task.id, model: model.manifest.id },
      });
    }
    return { task, modelId: model.manifest.id, options, format, bytes: input.upload.image, ...volume };
  }
  const loaded = await runtime.load<Raster, unknown, ImageTaskResult>(task.id, modelId === undefined ? {} : { model: modelId });
  return { task, modelId: loaded.model.manifest.id, loaded, options, format, bytes: input.upload.image, ...volume };
}

/** The "volume" field: a whole number (which 3-D volume of a 4-D NIfTI upload to run). */
function parseVolumeIndex(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw invalidOption('volume', 'a whole number (the 3-D volume of a 4-D NIfTI upload, from 0)', value);
  return Number(value);
}

/** A DICOM or NIfTI upload is answered in kind: DICOM from DICOM (the patient and study come from it), or NIfTI. */
function checkVolumeFormat(source: ImageFormat, requested: ImageFormat | undefined): void {
  if (requested === undefined || requested === 'nifti' || (requested === 'dicom' && source === 'dicom')) return;
  throw new DiffusekitError('INVALID_OPTION', `Expected ${source === 'dicom' ? 'dicom or nifti' : 'nifti'} for the output format of a ${source === 'dicom' ? 'DICOM' : 'NIfTI'} upload but received ${requested}`, {
    details: { option: 'format', expected: source === 'dicom' ? ['dicom', 'nifti'] : ['nifti'] },
  });
}

/**
 * The queued work for an order: decode, run, encode (decoding and encoding on the codec thread). The input bytes are
 * released as soon as they are decoded, because a finished job (and this closure) may be kept for a while for its result.
 */
export function imageWork(order: ImageOrder, maxPixels: number, codecs: CodecThread): JobWork<ImageResult> {
  const holder: { bytes?: Buffer } = { bytes: order.bytes };
  const { loaded, options, format, task, volumeIndex } = order;
  if (!loaded) throw new DiffusekitError('INVALID_ARGUMENT', 'This image order was prepared for queue workers; it has no loaded task');
  return async ({ signal, onProgress }) => {
    const bytes = holder.bytes;
    delete holder.bytes;
    if (!bytes) throw new DiffusekitError('INVALID_ARGUMENT', 'This image order has already been run');
    return runImageBytes({ bytes, maxPixels, loaded, taskId: task.id, options, format, ...(volumeIndex !== undefined ? { volumeIndex } : {}) }, codecs, signal, onProgress);
  };
}

/** One image (or a DICOM/NIfTI volume) through a loaded task: what the in-process queue and queue workers both run. */
export interface ImageRun {
  bytes: Uint8Array;
  maxPixels: number;
  loaded: LoadedTask<Raster, unknown, ImageTaskResult>;
  taskId: string;
  options: unknown;
  /** The output format; the input's when left out. */
  format?: ImageFormat;
  /** 4-D NIfTI input: the 3-D volume to run. */
  volumeIndex?: number;
}

/**
 * Decodes on the codec thread, runs the task, encodes. A volume goes slice by slice (across k) and comes back as
 * one file of its kind.
 */
export async function runImageBytes(run: ImageRun, codecs: CodecThread, signal: AbortSignal, onProgress: (p: Progress) => void): Promise<ImageResult> {
  throwIfAborted(signal);
  onProgress({ kind: 'stage', stage: 'decode' });
  const { raster, volume } = await codecs.decode(run.bytes, run.maxPixels, run.volumeIndex);
  throwIfAborted(signal);
  onProgress({ kind: 'stage', stage: 'infer' });
  if (volume) return volumeResult(run, volume, codecs, signal, onProgress);
  let result: ImageTaskResult;
  try {
    result = await run.loaded.run(raster, run.options, { signal, onProgress });
  } catch (error) {
    // An uncoded error from task code is a server fault, never the caller's mistake.
    throw asDiffusekitError(error, 'ENGINE_FAILED', `Task ${run.taskId} failed`);
  }
  throwIfAborted(signal);
  onProgress({ kind: 'stage', stage: 'encode' });
  const out = result.raster;
  const format = run.format ?? raster.sourceFormat ?? 'png';
  const encoded = await codecs.encode(out, format);
  return {
    bytes: encoded,
    format,
    contentType: contentTypeOf(format),
    width: out.width,
    height: out.height,
    bands: out.bands,
    dtype: out.dtype,
    ...(result.info === undefined ? {} : { info: result.info }),
  };
}

async function volumeResult(
  run: ImageRun,
  volume: Volume,
  codecs: CodecThread,
  signal: AbortSignal,
  onProgress: (p: Progress) => void,
): Promise<ImageResult> {
  const format = run.format === 'dicom' ? 'dicom' : run.format === 'nifti' ? 'nifti' : volume.medical.format;
  let outcome: VolumeTaskOutcome;
  try {
    outcome = await runTaskOnVolume(run.loaded, volume, 2, run.options, { signal, onProgress });
  } catch (error) {
    throw asDiffusekitError(error, 'ENGINE_FAILED', `Task ${run.taskId} failed`);
  }
  const { volume: out, scale, info } = outcome;
  throwIfAborted(signal);
  onProgress({ kind: 'stage', stage: 'encode' });
  // Class indices and uncertainty levels are not the scanner's values: no rescale or display window of the input.
  if (info?.output === 'labels' || info?.output === 'uncertainty') out.medical = { ...labelVolumeInfo(out.medical), dims: out.medical.dims };
  const model = typeof info?.model === 'string' ? info.model : run.taskId;
  // Labels of a DICOM with plane geometry come back as a DICOM Segmentation of its images, which viewers overlay on
  // the source; without geometry (nothing a Segmentation could reference) as a derived image of class indices.
  const asSegmentation = format === 'dicom' && info?.output === 'labels' && Array.isArray(info.classes) && dicomSegBlocker(out) === undefined;
  const bytes = asSegmentation
    ? await codecs.encodeSegmentation(out, (info.classes as unknown[]).map(String), `diffusekit segment ${String(info.ensemble ?? '')}`.trim())
    : await codecs.encodeVolume(out, format, `diffusekit ${model}${scale > 1 ? ` x${scale}` : ''}`);
  return {
    bytes,
    format,
    contentType: contentTypeOf(format),
    width: out.width,
    height: out.height,
    bands: 1,
    dtype: out.dtype,
    depth: out.depth,
    info: { ...info, slices: out.depth, ...(asSegmentation ? { dicomObject: 'segmentation' } : {}) },
  };
}
