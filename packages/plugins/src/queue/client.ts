import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { DiffusekitError, Job, asDiffusekitError, invalidOption, type ImageFormat, type Progress } from '@diffusekit/core';
import type { ImageResult } from '../http/image-order.js';
import { contentTypeOf } from '../http/image-io.js';
import { ioredisOptions, parseRedisUrl, queueUnavailable, redact, type RedisConnection } from './connection.js';
import { CANCEL_CHANNEL, CANCEL_KEY, QUEUE_PROTOCOL, decodeFailure, inputKey, type QueuedImageJob, type QueuedImageResult } from './protocol.js';
import { FolderResultStore, type ResultStore } from './result-store.js';

/** The folder used as result store when none is given: fine on one machine; give a shared folder for several. */
export function defaultStoreFolder(): string {
  return process.env.DIFFUSEKIT_QUEUE_STORE || path.join(tmpdir(), 'diffusekit-queue');
}

export interface QueueOptions {
  /** redis://[user[:password]@]host[:port][/db] or rediss://... (TLS); or a parsed connection. */
  url: string | RedisConnection;
  /** Where inputs too big for Redis and all results go: a store, or a folder every worker shares (default: see defaultStoreFolder). */
  store?: ResultStore | string;
  /** Key prefix in Redis, so that several deployments can share one server (default "diffusekit"). */
  prefix?: string;
  /** Tries per job before it is reported failed (default 3); input mistakes are never retried. */
  attempts?: number;
  /** Wait before the first retry, doubled for each further one (default 1000 ms). */
  backoffMs?: number;
  /** Inputs up to this size travel inside Redis; larger ones through the store (default 256 KiB). */
  inlineInputBytes?: number;
  /** How often unfinished jobs are also looked up directly, in case an event was missed across a reconnect (default 2 s). */
  pollIntervalMs?: number;
  /** How long connecting may take before QUEUE_UNAVAILABLE (default 5 s). */
  connectTimeoutMs?: number;
  /** Called with connection problems after startup (already redacted); default: ignored, operations report them. */
  onError?: (message: string) => void;
}

export interface QueueImageRequest {
  task: string;
  model: string;
  /** Raw task options (validated by the worker's task). */
  options?: Record<string, unknown>;
  /** The encoded input image. */
  input: Uint8Array;
  /** Output format; default: the input's. */
  format?: ImageFormat;
  /** Largest input in pixels the worker decodes (default 2^27). */
  maxPixels?: number;
  /** 4-D NIfTI input: the 3-D volume to run (required for such files). */
  volumeIndex?: number;
  /** QUEUE_FULL instead of adding when this many jobs of the task are already waiting for a worker. */
  maxWaiting?: number;
  /**
   * Leave the result in the store after reading it, so that other clients (servers behind one load balancer) can read
   * it too, until `discardResult(job.id)` (default false: deleted once read).
   */
  keepResult?: boolean;
}

/** A job found in the queue by id (see `follow`), with the facts a job description needs. */
export interface FollowedJob {
  job: Job<ImageResult>;
  task: string;
  model: string;
  createdAt: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
}

interface Pending {
  /** Set once the job is in Redis; before that the poller must not take its absence for a loss. */
  added: boolean;
  started: () => void;
  progress: (p: Progress) => void;
  resolve: (r: QueuedImageResult) => void;
  reject: (e: DiffusekitError) => void;
  task: string;
}

interface TaskQueue {
  queue: Queue;
  events: QueueEvents;
}

const DEFAULT_MAX_PIXELS = 2 ** 27;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function isResult(value: unknown): value is QueuedImageResult {
  return typeof value === 'object' && value !== null && typeof (value as { key?: unknown }).key === 'string';
}

/** Closes BullMQ objects; one that cannot close cleanly within a second (Redis gone) is disconnected instead. */
async function closeAll(parts: readonly (Queue | QueueEvents)[]): Promise<void> {
  await Promise.all(
    parts.map((part) =>
      withTimeout(part.close(), 1000, 'closing').catch(() => {
        void part.disconnect().catch(() => undefined);
      }),
    ),
  );
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw invalidOption(name, min === 0 ? 'a non-negative integer' : 'a positive integer', value);
  return value;
}

/**
 * The client side of the distributed job queue (BullMQ on Redis): submits image jobs for `diffusekit worker`
 * processes on any machine and follows them. Each submitted job is a regular runtime `Job`: queued until a worker
 * picks it up, then running with per-step progress, then succeeded with the encoded image (read back from the result
 * store) or failed with the worker's error code; cancelling it removes it from the queue or stops its worker.
 */
export class DiffusekitQueue {
  readonly connection: RedisConnection;
  readonly store: ResultStore;
  readonly prefix: string;
  readonly #options: Required<Pick<QueueOptions, 'attempts' | 'backoffMs' | 'inlineInputBytes' | 'pollIntervalMs' | 'connectTimeoutMs'>>;
  readonly #redis: Redis;
  readonly #queues = new Map<string, Promise<TaskQueue>>();
  readonly #pending = new Map<string, Pending>();
  /** Results left in the store for other readers, by job id (see keepResult). */
  readonly #kept = new Map<string, string>();
  readonly #poller: NodeJS.Timeout;
  readonly #onError: (message: string) => void;
  #polling = false;
  #closed = false;

  private constructor(connection: RedisConnection, redis: Redis, options: QueueOptions) {
    this.connection = connection;
    this.#redis = redis;
    this.prefix = options.prefix ?? 'diffusekit';
    this.store = typeof options.store === 'object' ? options.store : new FolderResultStore(options.store ?? defaultStoreFolder());
    this.#options = {
      attempts: positive('attempts', options.attempts, 3),
      backoffMs: positive('backoffMs', options.backoffMs, 1000, 0),
      inlineInputBytes: positive('inlineInputBytes', options.inlineInputBytes, 256 * 1024, 0),
      pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, 2000),
      connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    };
    this.#onError = options.onError ?? (() => undefined);
    this.#poller = setInterval(() => void this.#poll(), this.#options.pollIntervalMs);
    this.#poller.unref();
  }

  /** Connects and checks that Redis answers (QUEUE_UNAVAILABLE otherwise, with no password in the message). */
  static async connect(options: QueueOptions): Promise<DiffusekitQueue> {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an options object with a url', options);
    const connection = typeof options.url === 'string' ? parseRedisUrl(options.url) : options.url;
    if (options.prefix !== undefined && !/^[A-Za-z0-9_-]+$/.test(options.prefix)) throw invalidOption('prefix', 'letters, digits, "_" and "-"', options.prefix);
    const timeout = options.connectTimeoutMs ?? 5000;
    const redis = new Redis(ioredisOptions(connection, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) as never);
    let lastError = '';
    redis.on('error', (error: Error) => (lastError = redact(error.message, connection)));
    try {
      await withTimeout(redis.connect().then(() => redis.ping()), timeout, 'connecting');
    } catch (error) {
      redis.disconnect();
      throw queueUnavailable('Could not reach the job queue', lastError ? new Error(lastError) : error, connection);
    }
    const queue = new DiffusekitQueue(connection, redis, options);
    redis.on('error', (error: Error) => queue.#onError(redact(`job queue connection: ${error.message}`, connection)));
    return queue;
  }

  /** The BullMQ queue of one task (created on first use; its event stream is followed before any job is added). */
  #taskQueue(task: string): Promise<TaskQueue> {
    // Fail fast while Redis is away, rather than queue commands until it is back.
    if (this.#redis.status !== 'ready') {
      return Promise.reject(queueUnavailable('The job queue is not connected', new Error(`connection ${this.#redis.status}`), this.connection));
    }
    let entry = this.#queues.get(task);
    if (!entry) {
      entry = (async () => {
        const queue = new Queue(task, { prefix: this.prefix, connection: ioredisOptions(this.connection, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) });
        const events = new QueueEvents(task, { prefix: this.prefix, connection: ioredisOptions(this.connection) });
        const report = (error: Error): void => this.#onError(redact(`job queue "${task}": ${error.message}`, this.connection));
        queue.on('error', report);
        events.on('error', report);
        events.on('active', ({ jobId }) => this.#pending.get(jobId)?.started());
        events.on('progress', ({ jobId, data }) => {
          if (typeof data === 'object' && data !== null) this.#pending.get(jobId)?.progress(data as Progress);
        });
        events.on('completed', ({ jobId, returnvalue }) => {
          const value: unknown = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
          if (isResult(value)) this.#pending.get(jobId)?.resolve(value);
        });
        events.on('failed', ({ jobId, failedReason }) => this.#pending.get(jobId)?.reject(decodeFailure(failedReason)));
        events.on('removed', ({ jobId }) => this.#pending.get(jobId)?.reject(new DiffusekitError('ABORTED', `Job ${jobId} was removed from the queue`)));
        try {
          await withTimeout(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), this.#options.connectTimeoutMs, 'connecting');
        } catch (error) {
          this.#queues.delete(task);
          await closeAll([queue, events]);
          throw queueUnavailable(`Could not open the job queue of task "${task}"`, error, this.connection);
        }
        return { queue, events };
      })();
      this.#queues.set(task, entry);
    }
    return entry;
  }

  /** Jobs of a task waiting for a worker, and being run by one. */
  async counts(task: string): Promise<QueueCounts> {
    const { queue } = await this.#taskQueue(task);
    try {
      const c = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      return { waiting: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0 };
    } catch (error) {
      throw queueUnavailable('Could not count the queued jobs', error, this.connection);
    }
  }

  /**
   * Adds one image job. Resolves once the job is in Redis (so QUEUE_FULL and QUEUE_UNAVAILABLE are thrown here, not
   * reported later by the job), with a started Job that follows it.
   */
  async submit(request: QueueImageRequest): Promise<Job<ImageResult>> {
    if (this.#closed) throw new DiffusekitError('QUEUE_FULL', 'The job queue client is closed and accepts no new jobs');
    const { task, model } = request;
    const taskQueue = await this.#taskQueue(task);
    if (request.maxWaiting !== undefined) {
      const counts = await this.counts(task);
      if (counts.waiting >= request.maxWaiting) {
        throw new DiffusekitError('QUEUE_FULL', `The job queue is full (${counts.waiting} waiting for a worker, ${counts.active} running); retry later`, {
          details: { queued: counts.waiting, running: counts.active },
        });
      }
    }
    const id = randomUUID();
    const stored = request.input.byteLength > this.#options.inlineInputBytes;
    if (stored) await this.store.put(inputKey(id), request.input);
    const data: QueuedImageJob = {
      v: QUEUE_PROTOCOL,
      task,
      model,
      options: request.options ?? {},
      ...(request.format ? { format: request.format } : {}),
      maxPixels: request.maxPixels ?? DEFAULT_MAX_PIXELS,
      ...(request.volumeIndex !== undefined ? { volumeIndex: request.volumeIndex } : {}),
      input: stored ? { key: inputKey(id) } : { inline: Buffer.from(request.input.buffer, request.input.byteOffset, request.input.byteLength).toString('base64') },
    };

    const job = this.#track(task, id, { ownInput: stored, result: request.keepResult === true ? 'keep' : 'delete' });
    try {
      await taskQueue.queue.add('image', data, {
        jobId: id,
        attempts: this.#options.attempts,
        backoff: { type: 'exponential', delay: this.#options.backoffMs },
        // Finished jobs keep their (inline) input in Redis: keep few, briefly. Clients take outcomes from events at once
        // and by looking jobs up every few seconds, so minutes are plenty; failed ones stay longer for operators.
        removeOnComplete: { age: 600, count: 500 },
        removeOnFail: { age: 24 * 3600, count: 500 },
      });
      const pending = this.#pending.get(id);
      if (pending) pending.added = true;
    } catch (error) {
      this.#pending.get(id)?.reject(new DiffusekitError('QUEUE_UNAVAILABLE', 'The job was not queued'));
      if (stored) await this.store.delete(inputKey(id)).catch(() => undefined);
      throw queueUnavailable('Could not add the job to the queue', error, this.connection);
    }
    return job;
  }

  /**
   * A runtime Job that follows queue job `id`, started at once (so it is pending before the job can be picked up).
   * It reads the result from the store, then deletes what it owns: its stored input, and the result unless kept.
   */
  #track(task: string, id: string, own: { ownInput: boolean; result: 'delete' | 'keep' | 'leave' }): Job<ImageResult> {
    const job = new Job<ImageResult>(
      task,
      async ({ signal, onProgress, markRunning }) => {
        const meta = new Promise<QueuedImageResult>((resolve, reject) => {
          const fail = (error: DiffusekitError): void => {
            // Cancelled by whoever cancelled it (perhaps another server): this job is cancelled too, not failed.
            if (error.code === 'ABORTED') job.cancel(error.message);
            reject(error);
          };
          this.#pending.set(id, { added: false, task, started: markRunning, progress: onProgress, resolve, reject: fail });
        });
        const onAbort = (): void => void this.#cancel(task, id);
        signal.addEventListener('abort', onAbort, { once: true });
        let resultKey: string | undefined;
        try {
          const result = await meta;
          resultKey = result.key;
          const { key: _key, bytes: _size, ...facts } = result;
          return { ...facts, bytes: await this.store.get(result.key), contentType: facts.contentType ?? contentTypeOf(facts.format) };
        } finally {
          signal.removeEventListener('abort', onAbort);
          this.#pending.delete(id);
          // The client has the result (or the final error): the store's copies have done their job.
          if (own.ownInput) await this.store.delete(inputKey(id)).catch(() => undefined);
          if (resultKey && own.result === 'delete') await this.store.delete(resultKey).catch(() => undefined);
          if (resultKey && own.result === 'keep') this.#kept.set(id, resultKey);
        }
      },
      { id, startsQueued: true },
    );
    void job.start();
    return job;
  }

  /** Deletes a result kept with `keepResult` (no error when there is none). */
  async discardResult(id: string): Promise<void> {
    const key = this.#kept.get(id);
    this.#kept.delete(id);
    if (key) await this.store.delete(key).catch(() => undefined);
  }

  /**
   * Finds a job another client (another server) queued, among the queues of `tasks`, and follows it like one of its
   * own: status, progress, cancellation, and the result while its owner keeps it in the store. Undefined when no such
   * job is in the queue (it never was, or it finished long enough ago to be removed).
   */
  async follow(id: string, tasks: readonly string[]): Promise<FollowedJob | undefined> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return undefined;
    for (const task of tasks) {
      const { queue } = await this.#taskQueue(task);
      let bullJob;
      try {
        bullJob = await queue.getJob(id);
      } catch (error) {
        throw queueUnavailable('Could not look the job up in the queue', error, this.connection);
      }
      if (!bullJob) continue;
      const data = bullJob.data as QueuedImageJob;
      // Another client owns the job: it deletes the stored input and result, this one only reads.
      const job = this.#track(task, id, { ownInput: false, result: 'leave' });
      const pending = this.#pending.get(id);
      if (pending) {
        pending.added = true;
        await this.#check(id, pending);
      }
      return { job, task, model: typeof data?.model === 'string' ? data.model : 'unknown', createdAt: bullJob.timestamp };
    }
    return undefined;
  }

  /** Removes a waiting job, or tells its worker to stop (a key for a worker that is just picking it up, and a message). */
  async #cancel(task: string, id: string): Promise<void> {
    try {
      await this.#redis.set(CANCEL_KEY(this.prefix, id), '1', 'EX', 24 * 3600);
      await this.#redis.publish(CANCEL_CHANNEL(this.prefix), id);
      const { queue } = await this.#taskQueue(task);
      const bullJob = await queue.getJob(id);
      const state = await bullJob?.getState();
      if (bullJob && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
        // Fails harmlessly when a worker has just locked it; the message above stops that worker.
        await bullJob.remove().then(
          () => this.#pending.get(id)?.reject(new DiffusekitError('ABORTED', `Job ${id} was cancelled before a worker picked it up`)),
          () => undefined,
        );
      }
    } catch (error) {
      this.#onError(redact(`cancelling job ${id}: ${(error as Error).message}`, this.connection));
    }
  }

  /** Looks one unfinished job up directly and passes on what has happened to it. */
  async #check(id: string, pending: Pending): Promise<void> {
    const { queue } = await this.#taskQueue(pending.task);
    const bullJob = await queue.getJob(id);
    if (!bullJob) {
      pending.reject(new DiffusekitError('JOB_NOT_FOUND', `Job ${id} is no longer in the queue (removed, or Redis lost it)`));
      return;
    }
    const state = await bullJob.getState();
    if (state === 'active') pending.started();
    if (typeof bullJob.progress === 'object' && bullJob.progress !== null && state === 'active') pending.progress(bullJob.progress as Progress);
    if (state !== 'completed' && state !== 'failed') return;
    // The job may have finished between reading it and reading its state: read it again for its outcome.
    const finished = await queue.getJob(id);
    if (state === 'completed' && isResult(finished?.returnvalue)) pending.resolve(finished.returnvalue);
    if (state === 'failed' && finished?.failedReason) pending.reject(decodeFailure(finished.failedReason));
  }

  /** Looks unfinished jobs up directly: covers events lost while a connection was re-established. */
  async #poll(): Promise<void> {
    if (this.#polling || this.#pending.size === 0) return;
    this.#polling = true;
    try {
      for (const [id, pending] of [...this.#pending]) {
        if (pending.added) await this.#check(id, pending);
      }
    } catch (error) {
      this.#onError(redact(`checking queued jobs: ${asDiffusekitError(error, 'QUEUE_UNAVAILABLE', 'poll').message}`, this.connection));
    } finally {
      this.#polling = false;
    }
  }

  /** Stops following jobs and closes every connection; jobs already queued stay in Redis for the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poller);
    for (const pending of this.#pending.values()) pending.reject(new DiffusekitError('ABORTED', 'The job queue client was closed'));
    const queues = await Promise.allSettled([...this.#queues.values()]);
    await closeAll(queues.flatMap((q) => (q.status === 'fulfilled' ? [q.value.queue, q.value.events] : [])));
    this.#redis.disconnect();
  }
}

/** Connects to the distributed job queue (see DiffusekitQueue). */
export function connectQueue(options: QueueOptions): Promise<DiffusekitQueue> {
  return DiffusekitQueue.connect(options);
}
