import { DiffusekitError, ERROR_CODES, type ErrorCode, type ImageFormat } from '@diffusekit/core';
import type { ImageResult } from '../http/image-order.js';

/** What a queued image job carries in Redis. Bumped when the shape changes, so old workers refuse new jobs loudly. */
export const QUEUE_PROTOCOL = 1;

export interface QueuedImageJob {
  v: typeof QUEUE_PROTOCOL;
  task: string;
  /** Model id, resolved by each worker in its own catalog. */
  model: string;
  /** Raw task options; the worker's task validates them. */
  options: Record<string, unknown>;
  /** Output format; the input's when left out. */
  format?: ImageFormat;
  maxPixels: number;
  /**
   * 4-D NIfTI input: the 3-D volume to run. Added without a protocol bump: a worker that predates it refuses 4-D NIfTI
   * files outright, so it can never run the wrong volume.
   */
  volumeIndex?: number;
  /** Small inputs travel in Redis (base64), large ones in the result store under `key`. */
  input: { inline: string } | { key: string };
}

/** What a worker returns for a finished job: the image result's facts, with the encoded image itself in the result store under `key`. */
export type QueuedImageResult = Omit<ImageResult, 'bytes'> & { key: string; bytes: number };

/**
 * Failures that come from the job itself (its input or options, or a cancellation): running it again gives the same
 * answer, so the queue does not retry them. Everything else (a crashed engine, a missing model on one worker, a
 * storage hiccup) is retried up to the job's attempts.
 */
export const PERMANENT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_OPTION',
  'INVALID_ARGUMENT',
  'INVALID_RASTER',
  'EMPTY_INPUT',
  'UNSUPPORTED_FORMAT',
  'DECODE_FAILED',
  'ENCODE_FAILED',
  'IMAGE_TOO_LARGE',
  'BAND_SELECTION_INVALID',
  'MASK_MISSING',
  'MASK_SIZE_MISMATCH',
  'MASK_EMPTY',
  'MODEL_INCOMPATIBLE',
  'ABORTED',
]);

const MARK = 'diffusekit-error:';

/** BullMQ keeps only an error's message; the code and details travel inside it as JSON. */
export function encodeFailure(error: DiffusekitError): string {
  const details = typeof error.details === 'object' && error.details !== null ? error.details : undefined;
  return MARK + JSON.stringify({ code: error.code, message: error.message, ...(details ? { details } : {}) });
}

/** The error behind a failed job's reason; a reason BullMQ wrote itself (e.g. a job that stalled too often) is WORKER_FAILED. */
export function decodeFailure(reason: string | undefined): DiffusekitError {
  if (reason?.startsWith(MARK)) {
    try {
      const parsed = JSON.parse(reason.slice(MARK.length)) as { code?: string; message?: string; details?: unknown };
      if (typeof parsed.code === 'string' && (ERROR_CODES as readonly string[]).includes(parsed.code) && typeof parsed.message === 'string') {
        return new DiffusekitError(parsed.code as ErrorCode, parsed.message, parsed.details === undefined ? {} : { details: parsed.details });
      }
    } catch {
      // fall through: not ours after all
    }
  }
  return new DiffusekitError('WORKER_FAILED', `The queued job failed on its worker: ${reason ?? 'no reason given'}`);
}

export const CANCEL_CHANNEL = (prefix: string): string => `${prefix}:diffusekit:cancel`;
export const CANCEL_KEY = (prefix: string, jobId: string): string => `${prefix}:diffusekit:cancelled:${jobId}`;
export const resultKey = (jobId: string, extension: string): string => `results/${jobId}.${extension}`;
export const inputKey = (jobId: string): string => `inputs/${jobId}.bin`;
