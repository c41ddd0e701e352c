import type { Runtime } from '@diffusekit/core';
import { quietRepeats } from '../../queue/connection.js';
import { startQueueWorker, type WorkerEvent } from '../../queue/worker.js';
import { writeLine, type CliIo } from '../io.js';

export interface WorkerFlags {
  queue: string;
  concurrency: number;
  tasks?: string[];
  store?: string;
  prefix?: string;
  lockDurationMs?: number;
  json: boolean;
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'ready':
      return `diffusekit worker ready: tasks ${event.tasks.join(', ')} (concurrency ${event.concurrency} each), queue ${event.queue}, store ${event.store}`;
    case 'started':
      return `started   ${event.id} ${event.task} (attempt ${event.attempt})`;
    case 'completed':
      return `completed ${event.id} ${event.task} (${event.seconds.toFixed(1)} s)`;
    case 'failed':
      return `failed    ${event.id} ${event.task}: ${event.code}: ${event.message}${event.final ? '' : ` (attempt ${event.attempt}, will be retried)`}`;
    case 'stalled':
      return `stalled   ${event.id} ${event.task}: its worker stopped renewing its lock; queued again`;
    case 'error':
      return `error     ${event.message}`;
  }
}

/**
 * Takes jobs from the Redis queue and runs them until the signal fires: the first SIGINT/SIGTERM lets running jobs
 * finish and takes no new ones; a second one quits at once (its jobs go back to the queue after the lock lapses).
 */
export async function workerCommand(runtime: Runtime, flags: WorkerFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const print = (event: WorkerEvent): void => writeLine(flags.json ? io.stdout : io.stderr, flags.json ? JSON.stringify(event) : describe(event));
  const errorLine = quietRepeats((message) => print({ type: 'error', message }));
  const worker = await startQueueWorker(runtime, {
    url: flags.queue,
    concurrency: flags.concurrency,
    ...(flags.tasks ? { tasks: flags.tasks } : {}),
    ...(flags.store ? { store: flags.store } : {}),
    ...(flags.prefix ? { prefix: flags.prefix } : {}),
    ...(flags.lockDurationMs ? { lockDurationMs: flags.lockDurationMs } : {}),
    onEvent: (event) => (event.type === 'error' ? errorLine(event.message) : print(event)),
  });
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  writeLine(io.stderr, 'diffusekit worker: finishing running jobs, taking no new ones');
  await worker.close();
  return 0;
}
