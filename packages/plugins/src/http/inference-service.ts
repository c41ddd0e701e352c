import { DiffusekitError, JobQueue, type Job, type Runtime } from '@diffusekit/core';
import { CodecThread } from './codec-thread.js';
import { toErrorAnswer } from './http-errors.js';
import { imageWork, type ImageOrder, type ImageResult } from './image-order.js';
import { JobStore, type JobRecord } from './job-store.js';
import type { ResolvedRouterOptions } from './options.js';

export interface DrainOptions {
  /** Running work may finish within this time; after it, it is cancelled (default 10 s). Queued work is cancelled. */
  timeoutMs?: number;
  /** Aborting it cancels running work at once instead of waiting for the timeout. */
  signal?: AbortSignal;
}

export interface ServiceStats {
  running: number;
  queued: number;
  concurrency: number;
  maxQueued: number;
  jobsKept: number;
  draining: boolean;
}

/**
 * The part of the HTTP adapter that is not HTTP: one bounded queue for all inference (synchronous requests and
 * background jobs alike, so the limit holds for both), and the store of background jobs.
 */
export class InferenceService {
  readonly queue: JobQueue;
  readonly jobs: JobStore;
  /** Image headers, decoding and encoding run here, off the event loop. */
  readonly codecs = new CodecThread();
  #drained: Promise<void> | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly options: ResolvedRouterOptions,
  ) {
    // Finished work is not kept by the queue: synchronous results go straight to their client, jobs live in the store.
    this.queue = new JobQueue({ concurrency: options.concurrency, maxQueued: options.maxQueued, keepFinished: 0 });
    this.jobs = new JobStore({ keepFinished: options.keepFinishedJobs, ttlMs: options.jobTtlMs });
  }

  get draining(): boolean {
    return this.#drained !== undefined;
  }

  /** Queues one image; QUEUE_FULL when the queue is full or the service is draining. */
  submit(order: ImageOrder): Job<ImageResult> {
    if (this.draining) throw new DiffusekitError('QUEUE_FULL', 'The server is shutting down and accepts no new work');
    return this.queue.submit(order.task.id, imageWork(order, this.options.maxPixels, this.codecs));
  }

  createJob(order: ImageOrder): JobRecord {
    const job = this.submit(order);
    const { onError, retryAfterSeconds } = this.options;
    if (onError) {
      // Synchronous requests report their faults through the router's error handler; background jobs do it here.
      job.on((event) => {
        if (event.type === 'done' && event.status === 'failed' && toErrorAnswer(event.error, { retryAfterSeconds }).status === 500) {
          onError(event.error, { method: 'JOB', path: `/v1/jobs/${job.id}` });
        }
      });
    }
    return this.jobs.add(job, order.task.id, order.loaded.model.manifest.id);
  }

  stats(): ServiceStats {
    return {
      running: this.queue.running,
      queued: this.queue.queued,
      concurrency: this.queue.concurrency,
      maxQueued: this.queue.maxQueued,
      jobsKept: this.jobs.size,
      draining: this.draining,
    };
  }

  /**
   * Stops taking work, cancels what is queued, lets running work finish for up to `timeoutMs` and then cancels it.
   * Finished jobs stay readable. Calling it again returns the same promise.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    this.#drained ??= this.#drain(options.timeoutMs ?? 10_000, options.signal);
    return this.#drained;
  }

  async #drain(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const settled = this.queue.shutdown({ finishRunning: true });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stopWaiting = new Promise<'stop'>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'stop');
      onAbort = () => resolve('stop');
      if (signal?.aborted) resolve('stop');
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    if ((await Promise.race([settled, stopWaiting])) === 'stop') {
      for (const job of this.queue.list()) job.cancel('the server is shutting down');
      await settled;
    }
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    this.jobs.close();
    await this.codecs.close();
  }
}
