import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { DiffusekitError, asDiffusekitError } from '../errors.js';
import type { Progress } from './progress.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type JobEvent<Out> =
  | { type: 'status'; status: JobStatus }
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; status: 'succeeded'; result: Out }
  | { type: 'done'; status: 'failed' | 'cancelled'; error: DiffusekitError };

export interface JobWorkContext {
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
  /**
   * For a job created with `startsQueued`: the work calls this when it really starts (e.g. when a remote worker has
   * picked it up), and the job turns from queued to running. Without `startsQueued` the job is running already.
   */
  markRunning: () => void;
}

export type JobWork<Out> = (context: JobWorkContext) => Promise<Out>;

export interface JobOptions {
  /** The job's id (default: a random UUID); a queue backend may need to name jobs itself. */
  id?: string;
  /**
   * The work starts by waiting elsewhere (a job handed to a distributed queue): the job stays queued, and cancellable
   * as a queued job, until the work calls `markRunning`.
   */
  startsQueued?: boolean;
}

/** A unit of work with a lifecycle, progress events and cancellation. */
export class Job<Out = unknown> {
  readonly id: string;
  readonly createdAt = Date.now();
  readonly label: string;
  #status: JobStatus = 'queued';
  #progress: Progress | undefined;
  #error: DiffusekitError | undefined;
  #result: Out | undefined;
  readonly #controller = new AbortController();
  readonly #events = new EventEmitter();
  readonly #done: Promise<Out>;
  #settle!: { resolve: (v: Out) => void; reject: (e: DiffusekitError) => void };
  readonly #startsQueued: boolean;
  #started = false;

  constructor(label: string, readonly work: JobWork<Out>, options: JobOptions = {}) {
    this.id = options.id ?? randomUUID();
    this.label = label;
    this.#startsQueued = options.startsQueued === true;
    this.#done = new Promise<Out>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#done.catch(() => undefined); // observed through result()/events; never an unhandled rejection
    this.#events.setMaxListeners(0);
  }

  get status(): JobStatus { return this.#status; }
  get progress(): Progress | undefined { return this.#progress; }
  get error(): DiffusekitError | undefined { return this.#error; }
  get signal(): AbortSignal { return this.#controller.signal; }
  get finished(): boolean { return this.#status === 'succeeded' || this.#status === 'failed' || this.#status === 'cancelled'; }
  /** The result of a succeeded job (undefined otherwise). */
  get value(): Out | undefined { return this.#result; }

  result(): Promise<Out> { return this.#done; }

  on(listener: (event: JobEvent<Out>) => void): () => void {
    this.#events.on('event', listener);
    return () => this.#events.off('event', listener);
  }

  cancel(reason = 'cancelled by the caller'): void {
    if (this.finished) return;
    this.#controller.abort(reason);
    if (this.#status === 'queued') this.#finishCancelled();
  }

  /** Runs the work; called by the queue. */
  async start(): Promise<void> {
    if (this.#status !== 'queued' || this.#started) return;
    this.#started = true;
    const markRunning = (): void => {
      if (this.#status === 'queued') this.#setStatus('running');
    };
    if (!this.#startsQueued) markRunning();
    try {
      const result = await this.work({
        signal: this.#controller.signal,
        onProgress: (progress) => {
          if (this.finished) return;
          markRunning();
          this.#progress = progress;
          this.#emit({ type: 'progress', progress });
        },
        markRunning: () => {
          if (!this.finished) markRunning();
        },
      });
      if (this.#controller.signal.aborted) return this.#finishCancelled();
      markRunning();
      this.#result = result;
      this.#setStatus('succeeded');
      this.#emit({ type: 'done', status: 'succeeded', result });
      this.#settle.resolve(result);
    } catch (error) {
      if (this.#controller.signal.aborted) return this.#finishCancelled();
      this.#error = asDiffusekitError(error, 'INTERNAL_ERROR', `Job ${this.label} failed`);
      this.#setStatus('failed');
      this.#emit({ type: 'done', status: 'failed', error: this.#error });
      this.#settle.reject(this.#error);
    }
  }

  #finishCancelled(): void {
    if (this.finished) return;
    this.#error = new DiffusekitError('ABORTED', `Job ${this.label} was cancelled`);
    this.#setStatus('cancelled');
    this.#emit({ type: 'done', status: 'cancelled', error: this.#error });
    this.#settle.reject(this.#error);
  }

  #setStatus(status: JobStatus): void {
    this.#status = status;
    this.#emit({ type: 'status', status });
  }

  #emit(event: JobEvent<Out>): void {
    this.#events.emit('event', event);
  }
}

export interface JobQueueOptions {
  /** Jobs running at once. */
  concurrency?: number;
  /** Jobs waiting to run; more is QUEUE_FULL. */
  maxQueued?: number;
  /** Finished jobs kept for lookup. */
  keepFinished?: number;
}

/** A bounded FIFO of jobs. Finished jobs stay retrievable until `keepFinished` newer ones push them out. */
export class JobQueue {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly keepFinished: number;
  readonly #jobs = new Map<string, Job<any>>();
  readonly #waiting: Job<any>[] = [];
  #running = 0;
  #accepting = true;

  constructor(options: JobQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 1;
    this.maxQueued = options.maxQueued ?? 16;
    this.keepFinished = options.keepFinished ?? 100;
  }

  get running(): number { return this.#running; }
  get queued(): number { return this.#waiting.length; }

  submit<Out>(label: string, work: JobWork<Out>): Job<Out> {
    if (!this.#accepting) throw new DiffusekitError('QUEUE_FULL', 'The job queue is shutting down and accepts no new jobs');
    if (this.#running + this.#waiting.length >= this.concurrency + this.maxQueued) {
      throw new DiffusekitError('QUEUE_FULL', `The job queue is full (${this.maxQueued} waiting, ${this.#running} running); retry later`, {
        details: { queued: this.#waiting.length, running: this.#running },
      });
    }
    const job = new Job<Out>(label, work);
    this.#jobs.set(job.id, job);
    this.#waiting.push(job);
    job.on((e) => {
      if (e.type === 'done') this.#prune();
    });
    // Started on a microtask so that the caller can attach listeners before the first event.
    queueMicrotask(() => this.#pump());
    return job;
  }

  get(id: string): Job<unknown> {
    const job = this.#jobs.get(id);
    if (!job) throw new DiffusekitError('JOB_NOT_FOUND', `No job with id "${id}"`, { details: { id } });
    return job;
  }

  list(): Job<unknown>[] {
    return [...this.#jobs.values()];
  }

  #pump(): void {
    while (this.#running < this.concurrency && this.#waiting.length > 0) {
      const job = this.#waiting.shift()!;
      if (job.finished) continue;
      this.#running++;
      void job.start().finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  #prune(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.finished);
    for (const job of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.#jobs.delete(job.id);
  }

  /** Stops accepting jobs; cancels waiting ones and (unless `finishRunning`) running ones; resolves when all are done. */
  async shutdown(options: { finishRunning?: boolean } = {}): Promise<void> {
    this.#accepting = false;
    for (const job of this.#waiting.splice(0)) job.cancel('shutting down');
    const running = [...this.#jobs.values()].filter((j) => j.status === 'running');
    if (!options.finishRunning) for (const job of running) job.cancel('shutting down');
    await Promise.all(running.map((j) => j.result().catch(() => undefined)));
  }
}
