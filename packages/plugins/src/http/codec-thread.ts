import { Worker } from 'node:worker_threads';
import { DiffusekitError, ERROR_CODES, type ErrorCode, type ImageFormat, type ImageHeader, type Raster, type Volume } from '@diffusekit/core';
import type { CodecFailure, CodecReply, CodecRequest } from './codec-protocol.js';

type Pending = { resolve: (reply: CodecReply) => void; reject: (error: unknown) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function revive(error: CodecFailure): Error {
  if (error.code !== undefined && (ERROR_CODES as readonly string[]).includes(error.code)) {
    const details: unknown = error.detailsJson === undefined ? undefined : JSON.parse(error.detailsJson);
    return new DiffusekitError(error.code as ErrorCode, error.message, { details });
  }
  return new Error(error.message);
}

/**
 * One worker thread for image headers, decoding and encoding, so that the event loop, which also answers health
 * checks and every other request, never runs libvips calls or the pixel loops that (de)interleave samples. Started on
 * first use; it does not keep the process alive while idle; a crashed thread fails only its own requests.
 */
export class CodecThread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  /** Format and size from the header, IMAGE_TOO_LARGE over `maxPixels` (see checkImageHeader). */
  async header(bytes: Uint8Array, maxPixels: number): Promise<ImageHeader> {
    const reply = await this.#request({ op: 'header', bytes, maxPixels });
    if (!('header' in reply)) throw unexpected();
    return reply.header;
  }

  /** The decoded image; for DICOM and NIfTI also the whole volume (of a 4-D NIfTI, volume `volumeIndex`). */
  async decode(bytes: Uint8Array, maxPixels: number, volumeIndex?: number): Promise<{ raster: Raster; volume?: Volume }> {
    const reply = await this.#request({ op: 'decode', bytes, maxPixels, ...(volumeIndex !== undefined ? { volumeIndex } : {}) });
    if (!('raster' in reply)) throw unexpected();
    return reply.volume ? { raster: reply.raster, volume: reply.volume } : { raster: reply.raster };
  }

  /** A volume as one DICOM (multi-frame) or NIfTI file. */
  async encodeVolume(volume: Volume, format: 'dicom' | 'nifti', derivation?: string): Promise<Uint8Array> {
    const reply = await this.#request({ op: 'encode-volume', volume, format, ...(derivation ? { derivation } : {}) });
    if (!('bytes' in reply)) throw unexpected();
    return reply.bytes;
  }

  /** A label volume read from DICOM as a DICOM Segmentation of its source images, one segment per class. */
  async encodeSegmentation(labels: Volume, classes: string[], algorithm: string): Promise<Uint8Array> {
    const reply = await this.#request({ op: 'encode-segmentation', labels, classes, algorithm });
    if (!('bytes' in reply)) throw unexpected();
    return reply.bytes;
  }

  async encode(raster: Raster, format: ImageFormat): Promise<Uint8Array> {
    const reply = await this.#request({ op: 'encode', raster, format });
    if (!('bytes' in reply)) throw unexpected();
    return reply.bytes;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #request(message: DistributiveOmit<CodecRequest, 'id'>): Promise<CodecReply> {
    if (this.#closed) return Promise.reject(new DiffusekitError('WORKER_FAILED', 'The image codec thread is closed'));
    const worker = (this.#worker ??= this.#spawn());
    const id = this.#nextId++;
    return new Promise<CodecReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      // Inputs are copied, not moved: the caller may still hold them (an upload kept for its job, a result raster).
      worker.postMessage({ ...message, id } as CodecRequest);
    }).then((reply) => {
      if (!reply.ok) throw revive(reply.error);
      return reply;
    });
  }

  #spawn(): Worker {
    // geotiff's web-worker dependency reads workerData.mod when imported off the main thread; an empty object makes
    // it act as it does on the main thread.
    const worker = new Worker(new URL('./codec-worker.js', import.meta.url), { workerData: {} });
    worker.on('message', (reply: CodecReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      pending.resolve(reply);
    });
    const fail = (reason: string): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined; // the next request starts a fresh thread
      for (const p of this.#pending.values()) p.reject(new DiffusekitError('WORKER_FAILED', `Image codec thread stopped: ${reason}`));
      this.#pending.clear();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    return worker;
  }
}

function unexpected(): DiffusekitError {
  return new DiffusekitError('WORKER_FAILED', 'Unexpected reply from the image codec thread');
}
