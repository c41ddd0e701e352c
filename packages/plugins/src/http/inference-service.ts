import { DiffusekitError, JobQueue, type Job, type Runtime } from '@diffusekit/core';
import { CodecThread } from './codec-thread.js';
import { toErrorAnswer } from './http-errors.js';
import { imageWork, servedTasks, type ImageOrder, type ImageResult } from './image-order.js';
import { JobStore, type JobRecord } from './job-store.js';
import type { ResolvedRouterOptions } from './options.js';

export interface DrainOptions {
  /** Running work may finish within this time; after it, it is cancelled (default 10 s). Queued work is cancelled. */
  timeoutMs?: number;
  /** Aborting it cancels running work at once instead of waiting for the timeout. */
  signal?: AbortSignal;
}

export interface ServiceStats {
  /** Where images run: this process ('memory') or queue workers ('redis'). */
  backend: 'memory' | 'redis';
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
  /** Unfinished work handed to queue workers by this service (remote mode only). */
  readonly #remote = new Set<Job<ImageResult>>();
  #drained: Promise<void> | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly options: ResolvedRouterOptions,
  ) {
    // Finished work is not kept by the queue: synchronous results go straight to their client, jobs live in the store.
    this.queue = new JobQueue({ concurrency: options.concurrency, maxQueued: options.maxQueued, keepFinished: 0 });
    const queue = options.queue;
    this.jobs = new JobStore({
      keepFinished: options.keepFinishedJobs,
      ttlMs: options.jobTtlMs,
      // On the distributed queue a job's result stays in the store, readable by every server, while it is kept here.
      ...(queue ? { onForget: (record: JobRecord) => void queue.discardResult(record.job.id) } : {}),
    });
  }

  get draining(): boolean {
    return this.#drained !== undefined;
  }

  /** True when images run on queue workers rather than in this process. */
  get remote(): boolean {
    return this.options.queue !== undefined;
  }

  /**
   * Queues one image; QUEUE_FULL when the queue is full or the service is draining. In-process the job is returned at
   * once (still queued); on the distributed queue, once it is in Redis.
   */
  submit(order: ImageOrder): Job<ImageResult> | Promise<Job<ImageResult>> {
    if (this.draining) throw new DiffusekitError('QUEUE_FULL', 'The server is shutting down and accepts no new work');
    if (!this.options.queue) return this.queue.submit(order.task.id, imageWork(order, this.options.maxPixels, this.codecs));
    return this.#submitRemote(order);
  }

  async #submitRemote(order: ImageOrder, keepResult = false): Promise<Job<ImageResult>> {
    const job = await this.options.queue!.submit({
      keepResult,
      task: order.task.id,
      model: order.modelId,
      options: order.options,
      input: order.bytes,
      format: order.format,
      ...(order.volumeIndex !== undefined ? { volumeIndex: order.volumeIndex } : {}),
      maxPixels: this.options.maxPixels,
      maxWaiting: this.options.maxQueued,
    });
    this.#remote.add(job);
    job.on((event) => {
      if (event.type === 'done') this.#remote.delete(job);
    });
    if (job.finished) this.#remote.delete(job);
    return job;
  }

  createJob(order: ImageOrder): JobRecord | Promise<JobRecord> {
    if (this.draining) throw new DiffusekitError('QUEUE_FULL', 'The server is shutting down and accepts no new work');
    const submitted = this.options.queue ? this.#submitRemote(order, true) : this.submit(order);
    return submitted instanceof Promise ? submitted.then((job) => this.#record(job, order)) : this.#record(submitted, order);
  }

  #record(job: Job<ImageResult>, order: ImageOrder): JobRecord {
    const { onError, retryAfterSeconds } = this.options;
    if (onError) {
      // Synchronous requests report their faults through the router's error handler; background jobs do it here.
      job.on((event) => {
        if (event.type === 'done' && event.status === 'failed' && toErrorAnswer(event.error, { retryAfterSeconds }).status === 500) {
          onError(event.error, { method: 'JOB', path: `/v1/jobs/${job.id}` });
        }
      });
    }
    return this.jobs.add(job, order.task.id, order.modelId);
  }

  /**
   * A background job by id. On the distributed queue, a job another server created is found in Redis and followed
   * from then on, so that any server behind a load balancer answers for any job.
   */
  async findJob(id: string): Promise<JobRecord> {
    const known = this.jobs.find(id);
    if (known || !this.options.queue || this.draining) return known ?? this.jobs.get(id);
    const followed = await this.options.queue.follow(id, servedTasks(this.runtime).map((t) => t.id));
    if (!followed) return this.jobs.get(id); // JOB_NOT_FOUND
    return this.jobs.find(id) ?? this.jobs.add(followed.job, followed.task, followed.model, followed.createdAt);
  }

  stats(): ServiceStats {
    if (this.remote) {
      const remote = [...this.#remote];
      return {
        backend: 'redis',
        running: remote.filter((j) => j.status === 'running').length,
        queued: remote.filter((j) => j.status === 'queued').length,
        concurrency: this.options.concurrency,
        maxQueued: this.options.maxQueued,
        jobsKept: this.jobs.size,
        draining: this.draining,
      };
    }
    return {
      backend: 'memory',
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
    // Remote work: jobs still waiting for a worker are taken back out of the queue, running ones may finish.
    for (const job of this.#remote) if (job.status === 'queued') job.cancel('the server is shutting down');
    const remoteSettled = Promise.all([...this.#remote].map((j) => j.result().catch(() => undefined)));
    const settled = Promise.all([this.queue.shutdown({ finishRunning: true }), remoteSettled]).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stopWaiting = new Promise<'stop'>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'stop');
      onAbort = () => resolve('stop');
      if (signal?.aborted) resolve('stop');
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    if ((await Promise.race([settled, stopWaiting])) === 'stop') {
      for (const job of [...this.queue.list(), ...this.#remote]) job.cancel('the server is shutting down');
      await settled;
    }
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    this.jobs.close();
    await this.codecs.close();
  }
}
