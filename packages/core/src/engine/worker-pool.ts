import { Worker } from 'node:worker_threads';
import { DiffusekitError, ERROR_CODES, type ErrorCode } from '../errors.js';
import type { SerializedError, WorkerRequest, WorkerResponse } from './worker-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type PoolRequest = DistributiveOmit<WorkerRequest, 'id'>;

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Session keys this worker has open: runs on them are sent without the session's spec (and model bytes). */
  opened: Set<string>;
}

function reviveError(e: SerializedError): DiffusekitError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(e.code) ? (e.code as ErrorCode) : 'ENGINE_FAILED';
  return new DiffusekitError(code, e.message, { details: e.details });
}

/**
 * Worker threads that run onnxruntime sessions, so that `session.run()` never blocks the host's event loop.
 * A crashed worker fails only its own requests and is replaced.
 */
export class WorkerPool {
  readonly #workers: PoolWorker[] = [];
  #nextId = 1;
  #closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new DiffusekitError('INVALID_OPTION', `Expected a positive integer for workers but received ${size}`);
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn());
  }

  #spawn(): PoolWorker {
    const worker = new Worker(new URL('./worker-entry.js', import.meta.url));
    const entry: PoolWorker = { worker, pending: new Map(), opened: new Set() };
    worker.on('message', (response: WorkerResponse) => {
      const p = entry.pending.get(response.id);
      if (!p) return;
      entry.pending.delete(response.id);
      if (response.type === 'error') p.reject(reviveError(response.error));
      else p.resolve(response);
    });
    const fail = (reason: string): void => {
      for (const p of entry.pending.values()) p.reject(new DiffusekitError('WORKER_FAILED', `Inference worker stopped: ${reason}`));
      entry.pending.clear();
      const index = this.#workers.indexOf(entry);
      if (index >= 0 && !this.#closed) this.#workers[index] = this.#spawn();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    return entry;
  }

  /** Sends to the least busy worker, or to every worker with `broadcast`. */
  request(message: PoolRequest, options: { broadcast?: boolean } = {}): Promise<WorkerResponse> {
    if (this.#closed) return Promise.reject(new DiffusekitError('WORKER_FAILED', 'The worker pool is closed'));
    const targets = options.broadcast ? this.#workers : [this.#leastBusy()];
    const replies = targets.map((target) => this.#send(target, message));
    return Promise.all(replies).then((all) => all[0]!);
  }

  #leastBusy(): PoolWorker {
    return this.#workers.reduce((best, w) => (w.pending.size < best.pending.size ? w : best));
  }

  #send(target: PoolWorker, message: PoolRequest): Promise<WorkerResponse> {
    const id = this.#nextId++;
    let outgoing = message;
    if (outgoing.type === 'run' && target.opened.has(outgoing.key)) {
      const { spec: _sent, ...withoutSpec } = outgoing;
      outgoing = withoutSpec;
    }
    const opens = outgoing.type === 'open' ? outgoing.spec.key : outgoing.type === 'run' ? outgoing.spec?.key : undefined;
    if (outgoing.type === 'release') target.opened.delete(outgoing.key);
    return new Promise<WorkerResponse>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      if (target.pending.size === 1) target.worker.ref();
      target.worker.postMessage({ ...outgoing, id } as WorkerRequest);
    })
      .then((response) => {
        if (opens !== undefined) target.opened.add(opens);
        return response;
      })
      .finally(() => {
        if (target.pending.size === 0) target.worker.unref();
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
