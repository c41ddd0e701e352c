import { readFile } from 'node:fs/promises';
import type { Runtime } from '@diffusekit/core';
import { startServer, type ServerOptions } from '../../http/index.js';
import { writeLine, type CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

export interface ServeFlags {
  port?: number;
  host?: string;
  config?: string;
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
  const server = await startServer(runtime, {
    ...config,
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    signals: false,
  });
  writeLine(io.stderr, `diffusekit serving on ${server.url} (tasks: ${runtime.tasks.map((t) => t.id).join(', ')})`);
  const stop = (): void => {
    writeLine(io.stderr, 'shutting down: finishing running work, refusing new work');
    void server.close();
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  await server.closed;
  return 0;
}
