import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { DiffusekitError, invalidOption, isDiffusekitError, type Runtime } from '@diffusekit/core';
import { HttpError, sendErrorAnswer, toErrorAnswer } from './http-errors.js';
import type { RouterOptions } from './options.js';
import { createRouter, type DiffusekitRouter } from './router.js';

export interface ServerOptions extends RouterOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1, this machine only; "0.0.0.0" or "::" for every interface). */
  host?: string;
  /** On shutdown, running work may finish within this time before it is cancelled (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Signals that start a graceful shutdown; a second one cancels running work at once (default SIGTERM, SIGINT). */
  signals?: readonly NodeJS.Signals[] | false;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly server: Server;
  readonly router: DiffusekitRouter;
  /** Resolves once the server has shut down, by `close()` or by a signal. The runtime is left to its owner to close. */
  readonly closed: Promise<void>;
  /** Stops accepting connections, drains the work (see `DiffusekitRouter.drain`) and resolves when every connection has ended. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const GRACE_AFTER_DRAIN_MS = 2_000;

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new DiffusekitError('IO_FAILED', `Could not listen on ${urlHost(host)}:${port}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function logFault(error: unknown, request: { method: string; path: string }): void {
  const what = isDiffusekitError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`diffusekit serve: ${request.method} ${request.path} failed: ${what}\n`);
}

/**
 * Serves the API and the demo page on a plain HTTP server. Inference runs through `runtime`, which should be created
 * with `engine: { workers: n }`. Shuts down gracefully on SIGTERM/SIGINT: stops accepting connections, cancels queued
 * work, lets running work finish (up to `shutdownTimeoutMs`), keeps finished results readable while connections drain.
 */
export async function startServer(runtime: Runtime, options: ServerOptions = {}): Promise<RunningServer> {
  const { port = 8080, host = '127.0.0.1', shutdownTimeoutMs = 10_000, signals = ['SIGTERM', 'SIGINT'], ...routerOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidOption('port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || host === '') throw invalidOption('host', 'a host name or IP address', host);
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0) throw invalidOption('shutdownTimeoutMs', 'a non-negative integer', shutdownTimeoutMs);

  const router = createRouter(runtime, { onError: logFault, ...routerOptions });
  const app = express();
  app.disable('x-powered-by');
  app.use(router);
  app.use((req, _res, next) => next(new HttpError(404, 'ROUTE_NOT_FOUND', `No route ${req.method} ${req.path}; the API lives under /v1`)));
  const onError: ErrorRequestHandler = (error, _req, res, _next) => sendErrorAnswer(res, toErrorAnswer(error, { retryAfterSeconds: routerOptions.retryAfterSeconds ?? 2 }));
  app.use(onError);

  const server = createServer(app);
  // Malformed HTTP never reaches Express; answer it in the same JSON shape.
  server.on('clientError', (_error, socket) => {
    if (!socket.writable) return socket.destroy();
    const body = '{"code":"INVALID_ARGUMENT","message":"Malformed HTTP request"}';
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
  await listen(server, port, host);
  const address = server.address() as AddressInfo;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const force = new AbortController();
  let closing: Promise<void> | undefined;

  const close = (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await router.drain({ timeoutMs: closeOptions.timeoutMs ?? shutdownTimeoutMs, signal: force.signal });
      // Answers in flight are being written and event streams end with their jobs; then idle keep-alive connections
      // are closed, and whatever is still open after a grace period is cut.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const cut = setTimeout(() => server.closeAllConnections(), GRACE_AFTER_DRAIN_MS);
      await stopped;
      clearInterval(sweep);
      clearTimeout(cut);
      resolveClosed();
    })();
    return closing;
  };

  const onSignal = (): void => {
    if (closing) force.abort(); // a second signal: stop waiting for running work
    void close();
  };
  const handled = signals === false ? [] : [...signals];
  for (const signal of handled) process.on(signal, onSignal);
  // Handlers stay until the shutdown has finished, so that a second signal reaches onSignal.
  void closed.then(() => {
    for (const signal of handled) process.off(signal, onSignal);
  });

  return { url: `http://${urlHost(host)}:${address.port}`, server, router, closed, close };
}
