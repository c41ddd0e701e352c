import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError, detectFormat, resolveOutputFormat, writeFileAtomic, type ImageFormat, type Raster } from '@diffusekit/core';
import type { DiffusekitQueue } from '../queue/client.js';
import type { FileWorkContext } from './run-batch.js';

export interface QueueFileWorkOptions {
  queue: DiffusekitQueue;
  task: string;
  model: string;
  taskOptions: Record<string, unknown>;
  format?: ImageFormat;
  maxPixels?: number;
  volumeIndex?: number;
}

/**
 * One file of a batch run by the queue's workers: the file's bytes go to the queue, progress comes back per step, and
 * the result is written atomically to `output` here (nothing is written when the job fails or the batch is aborted).
 */
export function queueFileWork(options: QueueFileWorkOptions) {
  return async (input: string, output: string, context: FileWorkContext): Promise<Record<string, unknown> | undefined> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'IO_FAILED';
      throw new DiffusekitError(code, `Could not read ${input}: ${(error as Error).message}`, { cause: error });
    }
    // The output's extension picks the format as in a local run (.tif stays GeoTIFF for a georeferenced input).
    const detected = detectFormat(bytes);
    const format = resolveOutputFormat(output, { sourceFormat: detected, ...(detected === 'geotiff' ? { geo: {} } : {}) } as Raster, options.format);
    const job = await options.queue.submit({
      task: options.task,
      model: options.model,
      options: options.taskOptions,
      input: bytes,
      format,
      ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
      ...(options.volumeIndex !== undefined ? { volumeIndex: options.volumeIndex } : {}),
    });
    const cancel = (): void => job.cancel('the batch was aborted');
    if (context.signal.aborted) cancel();
    context.signal.addEventListener('abort', cancel, { once: true });
    const stop = job.on((event) => {
      if (event.type === 'progress') context.onProgress(event.progress);
    });
    try {
      const result = await job.result();
      await mkdir(path.dirname(output), { recursive: true });
      await writeFileAtomic(output, result.bytes, context.signal);
      return result.info;
    } finally {
      stop();
      context.signal.removeEventListener('abort', cancel);
    }
  };
}
