import { DiffusekitError, type Job } from '@diffusekit/core';
import type { ImageResult } from './image-order.js';

/** A background job and the facts the API reports about it. */
export interface JobRecord {
  readonly job: Job<ImageResult>;
  readonly task: string;
  readonly model: string;
  readonly createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface JobStoreOptions {
  /** Finished jobs kept, newest first. */
  keepFinished: number;
  /** Finished jobs are dropped this long after finishing. */
  ttlMs: number;
  now?: () => number;
  /** Called for each finished job the store forgets (e.g. to delete a result kept elsewhere). */
  onForget?: (record: JobRecord) => void;
}

/**
 * Background jobs by id. Unfinished jobs are always kept (the queue bounds how many there are); finished ones are
 * kept for their results until `keepFinished` newer ones finish or `ttlMs` passes.
 */
export class JobStore {
  readonly #records = new Map<string, JobRecord>();
  readonly #options: JobStoreOptions;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: JobStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.prune(), Math.min(options.ttlMs, 60_000));
    this.#sweeper.unref();
  }

  add(job: Job<ImageResult>, task: string, model: string, createdAt = this.#now()): JobRecord {
    const record: JobRecord = { job, task, model, createdAt };
    this.#records.set(job.id, record);
    job.on((event) => {
      if (event.type === 'status' && event.status === 'running') record.startedAt = this.#now();
      if (event.type === 'done') {
        record.finishedAt = this.#now();
        this.prune();
      }
    });
    return record;
  }

  /** The record, or undefined when there is none. */
  find(id: string): JobRecord | undefined {
    this.prune();
    return this.#records.get(id);
  }

  get(id: string): JobRecord {
    const record = this.find(id);
    if (!record) {
      throw new DiffusekitError('JOB_NOT_FOUND', `No job with id "${id}" (it never existed, or finished long enough ago to be forgotten)`, {
        details: { id },
      });
    }
    return record;
  }

  get size(): number {
    return this.#records.size;
  }

  unfinished(): JobRecord[] {
    return [...this.#records.values()].filter((r) => !r.job.finished);
  }

  prune(): void {
    const expiry = this.#now() - this.#options.ttlMs;
    const finished = [...this.#records.values()]
      .filter((r) => r.job.finished)
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    finished.forEach((record, index) => {
      if (index >= this.#options.keepFinished || (record.finishedAt ?? 0) < expiry) {
        this.#records.delete(record.job.id);
        this.#options.onForget?.(record);
      }
    });
  }

  close(): void {
    clearInterval(this.#sweeper);
  }
}
