/**
 * Every failure that diffusekit reports carries a stable `code`. Codes are part of the public API and each one is
 * documented in docs/errors.md (cause and fix). Messages follow one shape: what was wrong, what is accepted.
 */
export const ERROR_CODES = [
  'INVALID_OPTION',
  'INVALID_ARGUMENT',
  'INVALID_RASTER',
  'EMPTY_INPUT',
  'UNSUPPORTED_FORMAT',
  'DECODE_FAILED',
  'UNSUPPORTED_TRANSFER_SYNTAX',
  'PIXEL_DATA_MISSING',
  'VOLUME_INCONSISTENT',
  'ENCODE_FAILED',
  'IMAGE_TOO_LARGE',
  'BAND_SELECTION_INVALID',
  'MASK_MISSING',
  'MASK_SIZE_MISMATCH',
  'MASK_EMPTY',
  'FILE_NOT_FOUND',
  'IO_FAILED',
  'MANIFEST_INVALID',
  'MODEL_NOT_FOUND',
  'MODEL_FILE_MISSING',
  'MODEL_CHECKSUM_MISMATCH',
  'MODEL_INCOMPATIBLE',
  'PROVIDER_UNAVAILABLE',
  'ENGINE_FAILED',
  'PLUGIN_INVALID',
  'PLUGIN_NAME_CLASH',
  'PLUGIN_VERSION_INCOMPATIBLE',
  'TASK_NOT_FOUND',
  'SCHEDULER_NOT_READY',
  'SCHEDULE_INVALID',
  'WORKER_FAILED',
  'QUEUE_FULL',
  'QUEUE_UNAVAILABLE',
  'JOB_NOT_FOUND',
  'JOB_NOT_FINISHED',
  'UNAUTHORIZED',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'INTERNAL_ERROR',
  'TRAINING_DATA_INVALID',
  'LABEL_MASK_INVALID',
  'ENSEMBLE_INVALID',
  'BACKBONE_MISMATCH',
  'ABORTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('diffusekit.error');

export class DiffusekitError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DiffusekitError';
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True for errors made by any copy of this module (works across worker threads and duplicated installs). */
export function isDiffusekitError(value: unknown): value is DiffusekitError {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as Record<symbol, unknown>)[BRAND] === true ||
      (value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && value.name === 'DiffusekitError'))
  );
}

/** Describes a received value briefly, for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 60 ? `string "${value.slice(0, 57)}..."` : `string "${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  return typeof value === 'object' ? `object ${Object.prototype.toString.call(value).slice(8, -1)}` : typeof value;
}

/** "Expected <expected> for <name> but received <value>" as an INVALID_OPTION error. */
export function invalidOption(name: string, expected: string, received: unknown): DiffusekitError {
  return new DiffusekitError('INVALID_OPTION', `Expected ${expected} for ${name} but received ${describeValue(received)}`, {
    details: { option: name, expected },
  });
}

/** Throws ABORTED when the signal has fired; call between steps and tiles. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new DiffusekitError('ABORTED', 'The operation was aborted', { cause: signal.reason });
  }
}

/** Wraps any thrown value so that callers always see a DiffusekitError with the given fallback code. */
export function asDiffusekitError(error: unknown, fallback: ErrorCode, context: string): DiffusekitError {
  if (isDiffusekitError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DiffusekitError(fallback, `${context}: ${message}`, { cause: error });
}
