import type { Response } from 'express';
import type { JobEvent } from '@diffusekit/core';
import { jobLinks, summariseResult } from './describe-job.js';
import { publicError } from './http-errors.js';
import type { ImageResult } from './image-order.js';
import type { JobRecord } from './job-store.js';

export interface JobEventStreamOptions {
  baseUrl: string;
  retryAfterSeconds: number;
  /** A comment line is sent this often so that proxies keep the connection open (default 15 s). */
  keepAliveMs?: number;
}

/**
 * Streams a job as Server-Sent Events: `status`, `progress` (one per step, tile or stage) and a final `done`, after
 * which the stream ends. A subscriber that arrives late first gets the current state replayed (status, last progress,
 * and `done` at once if the job has finished), so it never waits for an event that has already happened.
 */
export function streamJobEvents(res: Response, record: JobRecord, options: JobEventStreamOptions): void {
  const { job } = record;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
  res.flushHeaders();

  const send = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendDone = (event: Extract<JobEvent<ImageResult>, { type: 'done' }>): void => {
    if (event.status === 'succeeded') {
      send('done', { status: event.status, result: { ...summariseResult(event.result), url: jobLinks(options.baseUrl, job.id).result } });
    } else {
      send('done', { status: event.status, error: publicError(event.error, options.retryAfterSeconds) });
    }
  };

  res.write('retry: 2000\n\n');
  send('status', { status: job.status });
  if (job.progress) send('progress', job.progress);
  if (job.finished) {
    if (job.status === 'succeeded') sendDone({ type: 'done', status: 'succeeded', result: job.value! });
    else sendDone({ type: 'done', status: job.status as 'failed' | 'cancelled', error: job.error! });
    res.end();
    return;
  }

  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
  keepAlive.unref();
  const unsubscribe = job.on((event) => {
    switch (event.type) {
      case 'status':
        send('status', { status: event.status });
        break;
      case 'progress':
        // Progress is a "latest value": a client that reads slowly skips intermediate ones instead of piling them up.
        if (!res.writableNeedDrain) send('progress', event.progress);
        break;
      case 'done':
        sendDone(event);
        stop();
        res.end();
        break;
    }
  });
  const stop = (): void => {
    clearInterval(keepAlive);
    unsubscribe();
  };
  res.on('close', stop);
}
