import type { Response } from 'express';
import { isDiffusekitError, type ErrorCode } from '@diffusekit/core';

/** Codes that only the HTTP adapter produces (documented in docs/http.md). */
export const HTTP_ERROR_CODES = ['UNAUTHORIZED', 'ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED', 'JOB_NOT_FINISHED', 'INTERNAL_ERROR'] as const;
export type HttpOnlyErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type HttpErrorCode = ErrorCode | HttpOnlyErrorCode;

/** An error raised by the HTTP layer itself (auth, routing), carrying its status and extra headers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpOnlyErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  code: HttpErrorCode;
  message: string;
  details?: unknown;
}

export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/** 499 is the de-facto status for "client closed the request" (nobody reads it; it shows up in access logs). */
export const CLIENT_CLOSED_REQUEST = 499;

const STATUS_BY_CODE: Partial<Record<HttpErrorCode, number>> = {
  INVALID_OPTION: 400,
  INVALID_ARGUMENT: 400,
  INVALID_RASTER: 400,
  EMPTY_INPUT: 400,
  DECODE_FAILED: 400,
  ENCODE_FAILED: 400,
  BAND_SELECTION_INVALID: 400,
  MODEL_INCOMPATIBLE: 400,
  UNAUTHORIZED: 401,
  TASK_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  JOB_NOT_FINISHED: 409,
  IMAGE_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  PIXEL_DATA_MISSING: 400,
  VOLUME_INCONSISTENT: 400,
  QUEUE_FULL: 429,
  QUEUE_UNAVAILABLE: 503,
  ABORTED: CLIENT_CLOSED_REQUEST,
};

export interface ErrorContext {
  /** The service is shutting down: QUEUE_FULL and ABORTED become 503, the client should go elsewhere or retry. */
  draining?: boolean;
  retryAfterSeconds: number;
}

function isPlainDetails(details: unknown): boolean {
  return typeof details === 'object' && details !== null && Object.getPrototypeOf(details) === Object.prototype;
}

/**
 * Turns anything thrown into the answer a client sees. Caller mistakes (4xx) keep their message and details; server
 * faults (5xx) keep only their code, so that no path, stack or library message leaks out.
 */
export function toErrorAnswer(error: unknown, context: ErrorContext): ErrorAnswer {
  if (error instanceof HttpError) {
    return { status: error.status, body: { code: error.code, message: error.message }, headers: error.headers };
  }
  if (isDiffusekitError(error)) {
    let status = STATUS_BY_CODE[error.code] ?? 500;
    const headers: Record<string, string> = {};
    if (context.draining && (error.code === 'QUEUE_FULL' || error.code === 'ABORTED')) status = 503;
    if (status === 429 || status === 503) headers['Retry-After'] = String(context.retryAfterSeconds);
    if (status >= 500 && status !== 503) {
      return { status, headers, body: { code: error.code, message: `The server could not complete the request (${error.code})` } };
    }
    const message =
      error.code === 'QUEUE_UNAVAILABLE'
        ? 'The job queue is unavailable; retry later'
        : status === 503
          ? 'The server is shutting down; retry on another instance or later'
          : error.message;
    const body: ErrorBody = { code: error.code, message };
    if (status < 500 && isPlainDetails(error.details)) body.details = error.details;
    return { status, headers, body };
  }
  // Errors from Express itself, such as a malformed percent-encoding in the path, carry a 4xx status.
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const exposed = (error as { expose?: unknown }).expose === true && error instanceof Error;
    const code = status === 413 ? 'IMAGE_TOO_LARGE' : 'INVALID_ARGUMENT';
    return { status, headers: {}, body: { code, message: exposed ? error.message : 'The request is malformed' } };
  }
  return { status: 500, headers: {}, body: { code: 'INTERNAL_ERROR', message: 'The server could not complete the request (INTERNAL_ERROR)' } };
}

/** Writes an error answer, or just closes the connection if a response has already started. */
export function sendErrorAnswer(res: Response, answer: ErrorAnswer): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.setHeader('Cache-Control', 'no-store');
  res.json(answer.body);
}

/** The code and a safe message of an error, as shown inside job descriptions and SSE events. */
export function publicError(error: unknown, retryAfterSeconds: number): ErrorBody {
  const { body } = toErrorAnswer(error, { retryAfterSeconds });
  return { code: body.code, message: body.message };
}
