import { Worker, UnrecoverableError, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import {
  DiffusekitError,
  asDiffusekitError,
  invalidOption,
  throwIfAborted,
  type ImageTaskResult,
  type Progress,
  type Raster,
  type Runtime,
} from '@diffusekit/core';
import { CodecThread } from '../http/codec-thread.js';
import { extensionOf } from '../http/image-io.js';
import { runImageBytes, servedTasks } from '../http/image-order.js';
import { defaultStoreFolder } from './client.js';
import { ioredisOptions, parseRedisUrl, queueUnavailable, redact, type RedisConnection } from './connection.js';
import {
  CANCEL_CHANNEL,
  CANCEL_KEY,
  PERMANENT_ERROR_CODES,
  QUEUE_PROTOCOL,
  encodeFailure,
  resultKey,
  type QueuedImageJob,
  type QueuedImageResult,
} from './protocol.js';
import { FolderResultStore, type ResultStore } from './result-store.js';

export type WorkerEvent =
  | { type: 'ready'; tasks: string[]; concurrency: number; queue: string; store: string }
  | { type: 'started'; id: string; task: string; attempt: number }
  | { type: 'completed'; id: string; task: string; seconds: number }
  | { type: 'failed'; id: string; task: string; code: string; message: string; attempt: number; final: boolean }
  | { type: 'stalled'; id: string; task: string }
  | { type: 'error'; message: string };

export interface QueueWorkerOptions {
  url: string | RedisConnection;
  /** Task ids to take jobs of (default: every image-to-image task of the runtime). */
  tasks?: readonly string[];
  /** Jobs run at once, per task (default 1). */
  concurrency?: number;
  store?: ResultStore | string;
  prefix?: string;
  /**
   * A worker holds a lock on each job it runs and renews it every half of this; a job whose lock lapses (its worker
   * died or hung) goes back to the queue for another worker (default 30 s). Stalled jobs are looked for as often.
   */
  lockDurationMs?: number;
  /** Times a job may lose its worker before it is reported failed instead of run again (default 2). */
  maxStalledCount?: number;
  /** Events for logs; messages are already redacted. */
  onEvent?: (event: WorkerEvent) => void;
}

export interface QueueWorker {
  readonly tasks: readonly string[];
  /**
   * Stops taking jobs and waits for the running ones; with `force` it does not wait (exit the process then): the
   * abandoned jobs go back to the queue when their locks lapse.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

const TILE_PROGRESS_MS = 100;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidOption(name, 'a positive integer', value);
  return value;
}

/**
 * Runs queued image jobs with this process's runtime: BullMQ workers for the chosen tasks, per-step progress sent back
 * as job progress, cancellation by message, results written atomically to the store under the job's id (a job that is
 * run again after a crash overwrites the same object with the same bytes). Input mistakes fail the job at once; other
 * failures are retried by the queue up to the job's attempts.
 */
export async function startQueueWorker(runtime: Runtime, options: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = typeof options.url === 'string' ? parseRedisUrl(options.url) : options.url;
  const prefix = options.prefix ?? 'diffusekit';
  const concurrency = positive('concurrency', options.concurrency, 1);
  const lockDuration = positive('lockDurationMs', options.lockDurationMs, 30_000);
  const maxStalledCount = positive('maxStalledCount', options.maxStalledCount, 2);
  const store = typeof options.store === 'object' ? options.store : new FolderResultStore(options.store ?? defaultStoreFolder());
  const emit = options.onEvent ?? (() => undefined);
  const served = servedTasks(runtime).map((t) => t.id);
  const tasks = [...(options.tasks ?? served)];
  if (tasks.length === 0) throw invalidOption('tasks', `at least one of ${served.join(', ')}`, tasks);
  for (const task of tasks) {
    if (!served.includes(task)) {
      throw new DiffusekitError('TASK_NOT_FOUND', `Unknown task "${task}" for a queue worker. Should be one of: ${served.join(', ')}`, { details: { task, known: served } });
    }
  }

  // One connection for commands, one subscribed to cancellations.
  const commands = new Redis(ioredisOptions(connection, { lazyConnect: true }) as never);
  const subscriber = new Redis(ioredisOptions(connection, { lazyConnect: true }) as never);
  const report = (what: string) => (error: Error): void => emit({ type: 'error', message: redact(`${what}: ${error.message}`, connection) });
  commands.on('error', report('queue connection'));
  subscriber.on('error', report('queue connection'));
  try {
    await Promise.race([
      Promise.all([commands.connect(), subscriber.connect()]).then(() => commands.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5000 ms')), 5000).unref()),
    ]);
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw queueUnavailable('Could not reach the job queue', error, connection);
  }
  const running = new Map<string, AbortController>();
  await subscriber.subscribe(CANCEL_CHANNEL(prefix));
  subscriber.on('message', (_channel: string, id: string) => running.get(id)?.abort('cancelled by the client'));

  const codecs = new CodecThread();

  const runJob = async (job: BullJob<QueuedImageJob, QueuedImageResult>): Promise<QueuedImageResult> => {
    const id = job.id!;
    const data = job.data;
    const controller = new AbortController();
    running.set(id, controller);
    emit({ type: 'started', id, task: job.name === 'image' ? data.task : job.name, attempt: job.attemptsStarted });
    let progressChain = Promise.resolve();
    let lastTileSent = 0;
    const onProgress = (progress: Progress): void => {
      // Every step and stage goes out; tiles (dozens per step on a large image) at most every 100 ms, each one a
      // Redis write and an event for every client.
      if (progress.kind === 'tile') {
        const now = performance.now();
        if (now - lastTileSent < TILE_PROGRESS_MS && progress.tile !== progress.of) return;
        lastTileSent = now;
      }
      // In order, and never failing the job: progress is advisory.
      progressChain = progressChain.then(() => job.updateProgress(progress as unknown as object)).catch(() => undefined);
    };
    try {
      if (data?.v !== QUEUE_PROTOCOL) {
        throw new DiffusekitError('INVALID_ARGUMENT', `Job ${id} was queued by an incompatible diffusekit (protocol ${String(data?.v)}, this worker speaks ${QUEUE_PROTOCOL})`);
      }
      if ((await commands.exists(CANCEL_KEY(prefix, id))) === 1) controller.abort('cancelled by the client');
      throwIfAborted(controller.signal);
      const bytes = 'inline' in data.input ? Buffer.from(data.input.inline, 'base64') : await store.get(data.input.key);
      onProgress({ kind: 'stage', stage: 'load' });
      const loaded = await runtime.load<Raster, unknown, ImageTaskResult>(data.task, { model: data.model });
      const result = await runImageBytes(
        { bytes, maxPixels: data.maxPixels, loaded, taskId: data.task, options: data.options, ...(data.format ? { format: data.format } : {}), ...(data.volumeIndex !== undefined ? { volumeIndex: data.volumeIndex } : {}) },
        codecs,
        controller.signal,
        onProgress,
      );
      const { bytes: encoded, ...facts } = result;
      const key = resultKey(id, extensionOf(result.format));
      await store.put(key, encoded);
      await progressChain;
      return { ...facts, key, bytes: encoded.byteLength };
    } catch (error) {
      const failure = controller.signal.aborted
        ? new DiffusekitError('ABORTED', `Job ${id} was cancelled`)
        : asDiffusekitError(error, 'INTERNAL_ERROR', `Job ${id} failed`);
      const permanent = PERMANENT_ERROR_CODES.has(failure.code);
      const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ type: 'failed', id, task: data?.task ?? job.name, code: failure.code, message: redact(failure.message, connection), attempt: job.attemptsMade + 1, final });
      const message = encodeFailure(failure);
      throw permanent ? new UnrecoverableError(message) : new Error(message);
    } finally {
      running.delete(id);
      if (controller.signal.aborted) void commands.del(CANCEL_KEY(prefix, id)).catch(() => undefined);
    }
  };

  const workers = tasks.map((task) => {
    const worker = new Worker<QueuedImageJob, QueuedImageResult>(task, runJob, {
      prefix,
      connection: ioredisOptions(connection),
      concurrency,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount,
      autorun: false,
    });
    worker.on('error', report(`worker "${task}"`));
    worker.on('completed', (job) => emit({ type: 'completed', id: job.id!, task, seconds: (Date.now() - (job.processedOn ?? Date.now())) / 1000 }));
    worker.on('stalled', (id) => emit({ type: 'stalled', id, task }));
    return worker;
  });
  for (const worker of workers) void worker.run().catch(report('worker'));
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  } catch (error) {
    await Promise.allSettled(workers.map((w) => w.close(true)));
    throw queueUnavailable('Could not start the queue workers', error, connection);
  }
  emit({ type: 'ready', tasks, concurrency, queue: connection.display, store: store.location });

  let closing: Promise<void> | undefined;
  return {
    tasks,
    close: (closeOptions = {}) =>
      (closing ??= (async () => {
        // Forced: running jobs are not failed but abandoned; their locks lapse and another worker runs them again.
        await Promise.allSettled(workers.map((w) => w.close(closeOptions.force === true)));
        await codecs.close();
        subscriber.disconnect();
        commands.disconnect();
      })()),
  };
}
