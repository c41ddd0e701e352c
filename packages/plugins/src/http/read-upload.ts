import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { DiffusekitError } from '@diffusekit/core';
import type { TextFields } from './coerce-options.js';

/** What a request carried: the image bytes (possibly empty) and, for multipart bodies, the text fields. */
export interface Upload {
  image: Buffer;
  fields: TextFields;
  /** How the image arrived, to word the error when it is missing. */
  via: 'multipart' | 'raw';
}

export const IMAGE_FIELD = 'image';
const MAX_FIELDS = 64;
const MAX_FIELD_BYTES = 8 * 1024;

export function bodyTooLarge(maxBodyBytes: number, received?: number): DiffusekitError {
  const got = received === undefined ? 'more' : `${received} bytes`;
  return new DiffusekitError('IMAGE_TOO_LARGE', `The request body is larger than the limit of ${maxBodyBytes} bytes (received ${got})`, {
    details: { maxBodyBytes },
  });
}

/**
 * After an early answer (413, 401, ...) Node discards the rest of a body so the connection can be reused, and the
 * client, which is still sending, gets to read the answer. Closing at once instead would reset the connection under
 * the client and often lose the answer. A body of unknown length, or one larger than this, gets the connection closed.
 */
const DISCARD_ALLOWANCE_BYTES = 64 * 1024 * 1024;

export function mustCloseAfterEarlyAnswer(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const declared = Number(req.headers['content-length']);
  return !(Number.isFinite(declared) && declared <= DISCARD_ALLOWANCE_BYTES);
}

function clientGone(): DiffusekitError {
  return new DiffusekitError('ABORTED', 'The client closed the connection during the upload');
}

function isMultipart(req: IncomingMessage): boolean {
  return /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
}

function addField(fields: TextFields, name: string, value: string): void {
  const previous = fields[name];
  fields[name] = previous === undefined ? value : [...(typeof previous === 'string' ? [previous] : previous), value];
}

/**
 * Reads the body: a multipart form with the image in the field "image" (and options as text fields), or the image
 * itself as the raw body. Stops reading at `maxBodyBytes` (IMAGE_TOO_LARGE) and discards the rest of the body, so
 * the connection can still carry the answer. Rejects with ABORTED when the client disconnects first.
 */
export function readUpload(req: IncomingMessage & { body?: unknown }, maxBodyBytes: number): Promise<Upload> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) return Promise.reject(bodyTooLarge(maxBodyBytes, declared));
  // A body parser mounted by the host may already have read the stream; waiting for it would never end.
  if (req.readableEnded) {
    const image = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (image.length > maxBodyBytes) return Promise.reject(bodyTooLarge(maxBodyBytes, image.length));
    return Promise.resolve({ image, fields: {}, via: 'raw' });
  }
  return isMultipart(req) ? readMultipart(req, maxBodyBytes) : readRaw(req, maxBodyBytes);
}

function readRaw(req: IncomingMessage, maxBodyBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        cleanup();
        chunks.length = 0;
        req.resume(); // discard the rest
        reject(bodyTooLarge(maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ image: Buffer.concat(chunks, size), fields: {}, via: 'raw' });
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(clientGone());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', () => undefined); // reported through 'close'
  });
}

function readMultipart(req: IncomingMessage, maxBodyBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBodyBytes, files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 1 },
      });
    } catch (error) {
      reject(new DiffusekitError('INVALID_ARGUMENT', `Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    const fields: TextFields = {};
    const chunks: Buffer[] = [];
    let size = 0;
    let sawImage = false;
    let settled = false;

    const fail = (error: DiffusekitError): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      req.unpipe(parser);
      req.off('close', onClose);
      req.resume(); // discard the rest so the answer can still be delivered
      reject(error);
    };
    const onClose = (): void => {
      if (!req.complete) fail(clientGone());
    };

    parser.on('file', (name, stream) => {
      if (name !== IMAGE_FIELD) {
        stream.resume();
        fail(new DiffusekitError('INVALID_ARGUMENT', `Unexpected file field "${name}"; send the image in the field "${IMAGE_FIELD}"`));
        return;
      }
      sawImage = true;
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        chunks.push(chunk);
      });
      stream.on('limit', () => fail(bodyTooLarge(maxBodyBytes)));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(new DiffusekitError('INVALID_ARGUMENT', `Field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
        return;
      }
      if (name === IMAGE_FIELD) {
        fail(new DiffusekitError('INVALID_ARGUMENT', `Field "${IMAGE_FIELD}" must be a file part (curl -F image=@photo.png)`));
        return;
      }
      addField(fields, name, value);
    });
    const tooMany = (): void => fail(new DiffusekitError('INVALID_ARGUMENT', `A multipart request may carry one file ("${IMAGE_FIELD}") and at most ${MAX_FIELDS} fields`));
    parser.on('filesLimit', tooMany);
    parser.on('fieldsLimit', tooMany);
    parser.on('partsLimit', tooMany);
    parser.on('error', (error: Error) => fail(new DiffusekitError('INVALID_ARGUMENT', `Malformed multipart request: ${error.message}`)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      req.off('close', onClose);
      resolve({ image: sawImage ? Buffer.concat(chunks, size) : Buffer.alloc(0), fields, via: 'multipart' });
    });
    req.on('close', onClose);
    req.on('error', () => undefined); // reported through 'close'
    req.pipe(parser);
  });
}
