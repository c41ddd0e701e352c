import { readFile } from 'node:fs/promises';
import type { Runtime } from '@diffusekit/core';
import { startServer, type ServerOptions } from '../../http/index.js';
import { connectQueue, type DiffusekitQueue } from '../../queue/client.js';
import { quietRepeats } from '../../queue/connection.js';
import { writeLine, type CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

export interface ServeFlags {
  port?: number;
  host?: string;
  config?: string;
  /** Run images on queue workers: Redis URL, result store folder and key prefix. */
  queue?: { url: string; store?: string; prefix?: string };
}

async function readConfig(file: string): Promise<ServerOptions> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`could not read --config ${file}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`--config ${file} must hold a JSON object of server options`);
  return json as ServerOptions;
}

/** Runs the HTTP service until the signal fires (SIGINT/SIGTERM in the binary), then shuts down gracefully. */
export async function serveCommand(runtime: Runtime, flags: ServeFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const config = flags.config ? await readConfig(flags.config) : {};
  const queue = flags.queue
    ? await connectQueue({
        url: flags.queue.url,
        ...(flags.queue.store ? { store: flags.queue.store } : {}),
        ...(flags.queue.prefix ? { prefix: flags.queue.prefix } : {}),
        onError: quietRepeats((message) => writeLine(io.stderr, `diffusekit serve: ${message}`)),
      })
    : undefined;
  try {
    return await serveUntilStopped(runtime, config, flags, queue, io, signal);
  } finally {
    await queue?.close();
  }
}

async function serveUntilStopped(runtime: Runtime, config: ServerOptions, flags: ServeFlags, queue: DiffusekitQueue | undefined, io: CliIo, signal: AbortSignal): Promise<number> {
  const server = await startServer(runtime, {
    ...config,
    ...(queue ? { queue } : {}),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    signals: false,
  });
  writeLine(io.stderr, `diffusekit serving on ${server.url} (tasks: ${runtime.tasks.map((t) => t.id).join(', ')})`);
  if (queue) writeLine(io.stderr, `images run on queue workers: ${queue.connection.display}, result store ${queue.store.location}`);
  const stop = (): void => {
    writeLine(io.stderr, 'shutting down: finishing running work, refusing new work');
    void server.close();
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  await server.closed;
  return 0;
}
