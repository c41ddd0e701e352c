import { invalidOption } from '@diffusekit/core';
import type { DiffusekitQueue } from '../queue/client.js';

export interface CorsOptions {
  /** Origins allowed to call the API from a browser: '*' for any, or exact origins such as "https://app.example". */
  origins: '*' | readonly string[];
  /** How long browsers may cache a preflight answer, in seconds (default 600). */
  maxAgeSeconds?: number;
}

export interface RouterOptions {
  /** Largest request body in bytes; larger answers 413 IMAGE_TOO_LARGE (default 32 MiB). */
  maxBodyBytes?: number;
  /** Largest input in pixels (width × height), read from the header before decoding; larger answers 413 (default 4 Mpx). */
  maxPixels?: number;
  /** Images processed at once (default: the engine's worker count, at least 1). */
  concurrency?: number;
  /** Requests and jobs waiting beyond those running; one more answers 429 QUEUE_FULL (default 8). */
  maxQueued?: number;
  /** Seconds sent in Retry-After with 429 and 503 answers (default 2). */
  retryAfterSeconds?: number;
  /** Finished jobs kept for GET /v1/jobs/:id and its result, newest first (default 64). */
  keepFinishedJobs?: number;
  /** Finished jobs are forgotten this long after they finish (default 15 minutes). */
  jobTtlMs?: number;
  /** When set, every /v1 route except health and openapi.json needs this key in X-API-Key or Authorization: Bearer. */
  apiKey?: string | readonly string[];
  /** Cross-origin access from browsers; off when left out. `true` allows any origin. */
  cors?: boolean | CorsOptions;
  /** Serve the demo page at the mount point (default true). */
  webPage?: boolean;
  /** Called with every server fault (answers 500) so the host can log it; clients only see its code. */
  onError?: (error: unknown, request: { method: string; path: string }) => void;
  /**
   * Run every image (jobs and synchronous requests) on `diffusekit worker` processes through this distributed queue
   * (see connectQueue) instead of in this process. `maxQueued` then bounds the jobs waiting in Redis for a worker;
   * `concurrency` is the workers' business. The router does not close the queue.
   */
  queue?: DiffusekitQueue;
}

export interface ResolvedRouterOptions {
  maxBodyBytes: number;
  maxPixels: number;
  concurrency: number;
  maxQueued: number;
  retryAfterSeconds: number;
  keepFinishedJobs: number;
  jobTtlMs: number;
  apiKeys: readonly string[];
  cors: Required<CorsOptions> | undefined;
  webPage: boolean;
  onError: ((error: unknown, request: { method: string; path: string }) => void) | undefined;
  queue: DiffusekitQueue | undefined;
}

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_PIXELS = 2048 * 2048;

function positiveInteger(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidOption(name, min === 0 ? 'a non-negative integer' : 'a positive integer', value);
  }
  return value;
}

function resolveApiKeys(value: unknown): string[] {
  if (value === undefined) return [];
  const keys = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string' && k.length >= 8)) {
    throw invalidOption('apiKey', 'a string of at least 8 characters, or a non-empty array of them', value);
  }
  return keys as string[];
}

function resolveCors(value: unknown): Required<CorsOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { origins: '*', maxAgeSeconds: 600 };
  const cors = value as Partial<CorsOptions> | null;
  if (typeof cors !== 'object' || cors === null) throw invalidOption('cors', "true, false or { origins: '*' | string[] }", value);
  const { origins } = cors;
  if (origins !== '*' && !(Array.isArray(origins) && origins.every((o) => typeof o === 'string' && /^https?:\/\/[^/]+$/.test(o)))) {
    throw invalidOption('cors.origins', "'*' or an array of origins like \"https://app.example\" (scheme and host, no path)", origins);
  }
  return { origins, maxAgeSeconds: positiveInteger('cors.maxAgeSeconds', cors.maxAgeSeconds, 600, 0) };
}

/** Checks every option up front and fills in defaults; `workers` is the engine's worker count. */
export function resolveRouterOptions(options: RouterOptions, workers: number): ResolvedRouterOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an options object', options);
  if (options.webPage !== undefined && typeof options.webPage !== 'boolean') throw invalidOption('webPage', 'a boolean', options.webPage);
  if (options.onError !== undefined && typeof options.onError !== 'function') throw invalidOption('onError', 'a function', options.onError);
  if (options.queue !== undefined && typeof (options.queue as { submit?: unknown } | null)?.submit !== 'function') {
    throw invalidOption('queue', 'a connected queue (connectQueue)', options.queue);
  }
  return {
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
    maxPixels: positiveInteger('maxPixels', options.maxPixels, DEFAULT_MAX_PIXELS),
    concurrency: positiveInteger('concurrency', options.concurrency, Math.max(1, workers)),
    maxQueued: positiveInteger('maxQueued', options.maxQueued, 8, 0),
    retryAfterSeconds: positiveInteger('retryAfterSeconds', options.retryAfterSeconds, 2),
    keepFinishedJobs: positiveInteger('keepFinishedJobs', options.keepFinishedJobs, 64, 0),
    jobTtlMs: positiveInteger('jobTtlMs', options.jobTtlMs, 15 * 60 * 1000),
    apiKeys: resolveApiKeys(options.apiKey),
    cors: resolveCors(options.cors),
    webPage: options.webPage ?? true,
    onError: options.onError,
    queue: options.queue,
  };
}
