import { DiffusekitError, asDiffusekitError, isDiffusekitError, type Progress } from '@diffusekit/core';
import type { BatchItem } from './discover.js';

export type BatchEvent =
  | { type: 'start'; total: number }
  | { type: 'file-start'; file: string; output: string; index: number }
  | { type: 'progress'; file: string; progress: Progress }
  | { type: 'file-done'; file: string; output: string; seconds: number; info?: Record<string, unknown> }
  | { type: 'file-skip'; file: string; output: string; reason: 'complete' }
  | { type: 'file-error'; file: string; code: string; message: string }
  | { type: 'summary'; total: number; succeeded: number; failed: number; skipped: number; seconds: number; aborted: boolean };

export interface FileWorkContext {
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
}

export interface BatchOptions {
  items: readonly BatchItem[];
  outputs: ReadonlyMap<string, string>;
  /** Does one file; must write `output` atomically (or not at all) and may return facts for the report. */
  work: (input: string, output: string, context: FileWorkContext) => Promise<Record<string, unknown> | void>;
  /** With resume, returns true when `output` is already complete and the file can be skipped. */
  isComplete?: (output: string) => Promise<boolean>;
  resume?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  onEvent: (event: BatchEvent) => void;
}

export interface BatchSummary {
  succeeded: number;
  failed: number;
  skipped: number;
  aborted: boolean;
}

/** Runs a batch of files: one failure is reported and the batch goes on; abort stops it between files. */
export async function runBatch(options: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const summary: BatchSummary = { succeeded: 0, failed: 0, skipped: 0, aborted: false };
  options.onEvent({ type: 'start', total: options.items.length });
  let next = 0;

  const one = async (item: BatchItem, index: number): Promise<void> => {
    const output = options.outputs.get(item.input)!;
    if (options.resume && options.isComplete && (await options.isComplete(output))) {
      summary.skipped++;
      options.onEvent({ type: 'file-skip', file: item.input, output, reason: 'complete' });
      return;
    }
    options.onEvent({ type: 'file-start', file: item.input, output, index });
    const t0 = performance.now();
    try {
      const info = await options.work(item.input, output, {
        signal: options.signal ?? new AbortController().signal,
        onProgress: (progress) => options.onEvent({ type: 'progress', file: item.input, progress }),
      });
      summary.succeeded++;
      options.onEvent({ type: 'file-done', file: item.input, output, seconds: (performance.now() - t0) / 1000, ...(info ? { info } : {}) });
    } catch (error) {
      const e = isDiffusekitError(error) ? error : asDiffusekitError(error, 'IO_FAILED', `Processing ${item.input} failed`);
      if (e.code === 'ABORTED') summary.aborted = true;
      summary.failed++;
      options.onEvent({ type: 'file-error', file: item.input, code: e.code, message: e.message });
    }
  };

  const lane = async (): Promise<void> => {
    while (next < options.items.length && !options.signal?.aborted) {
      const index = next++;
      await one(options.items[index]!, index);
    }
  };
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new DiffusekitError('INVALID_OPTION', `Expected a positive integer for concurrency but received ${concurrency}`);
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, options.items.length)) }, lane));
  if (options.signal?.aborted) summary.aborted = true;
  options.onEvent({
    type: 'summary',
    total: options.items.length,
    ...summary,
    seconds: (performance.now() - started) / 1000,
  });
  return summary;
}
