import type { Response } from 'express';
import { fileNameFor } from './image-io.js';
import type { ImageResult } from './image-order.js';

const MAX_INFO_HEADER_BYTES = 2048;

/** JSON with every non-ASCII character escaped, so that it is a valid header value. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Answers with an encoded image, its model, and the task's facts about the run when they fit in a header. */
export function sendImage(res: Response, result: ImageResult, model: string): void {
  res.status(200);
  res.setHeader('Content-Type', result.contentType);
  res.setHeader('Content-Length', String(result.bytes.byteLength));
  res.setHeader('Content-Disposition', `inline; filename="${fileNameFor(result.format)}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Diffusekit-Model', model);
  if (result.info !== undefined) {
    const info = asciiJson(result.info);
    if (info.length <= MAX_INFO_HEADER_BYTES) res.setHeader('X-Diffusekit-Info', info);
  }
  res.end(Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength));
}
