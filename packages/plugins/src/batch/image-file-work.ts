import { open, stat } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  detectFormat,
  readImageFile,
  writeImageFile,
  type ImageFormat,
  type ImageTaskResult,
  type LoadedTask,
  type Raster,
  type Rect,
} from '@diffusekit/core';
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
}

/** Decode, run the task, write atomically (nothing is written when anything fails or the run is aborted). */
export function imageFileWork(options: ImageWorkOptions) {
  return async (input: string, output: string, context: FileWorkContext): Promise<Record<string, unknown> | undefined> => {
    context.onProgress({ kind: 'stage', stage: 'decode' });
    const { raster } = await readImageFile(input, {
      signal: context.signal,
      ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
      ...(options.window ? { window: options.window } : {}),
    });
    const taskInput = options.inputFor ? await options.inputFor(input, raster, context.signal) : raster;
    const result = await options.task.run(taskInput, options.taskOptions, context);
    context.onProgress({ kind: 'stage', stage: 'encode' });
    await mkdir(path.dirname(output), { recursive: true });
    await writeImageFile(output, result.raster, { signal: context.signal, ...(options.format ? { format: options.format } : {}) });
    return result.info;
  };
}

/** An output counts as complete when it exists and starts like an image: writes are atomic, so it cannot be partial. */
export async function isCompleteImage(file: string): Promise<boolean> {
  try {
    if ((await stat(file)).size === 0) return false;
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(64);
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
