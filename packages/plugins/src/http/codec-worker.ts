import { parentPort } from 'node:worker_threads';
import { decodeImage, encodeDicomSeg, encodeImage, encodeVolume, isDiffusekitError, type Raster } from '@diffusekit/core';
import type { CodecFailure, CodecReply, CodecRequest } from './codec-protocol.js';
import { checkImageHeader } from './image-io.js';

function failure(error: unknown): CodecFailure {
  if (isDiffusekitError(error)) {
    return { code: error.code, message: error.message, ...(error.details === undefined ? {} : { detailsJson: JSON.stringify(error.details) }) };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

/** Buffers that own their memory move to the caller; a view into a shared pool slab must be copied. */
function transferable(view: Uint8Array | Raster['data']): ArrayBuffer[] {
  const { buffer } = view;
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength ? [buffer] : [];
}

async function handle(request: CodecRequest): Promise<{ reply: CodecReply; transfer: ArrayBuffer[] }> {
  switch (request.op) {
    case 'header':
      return { reply: { id: request.id, ok: true, header: await checkImageHeader(request.bytes, request.maxPixels) }, transfer: [] };
    case 'decode': {
      const { raster, volume } = await decodeImage(request.bytes, { maxPixels: request.maxPixels, ...(request.volumeIndex !== undefined ? { volumeIndex: request.volumeIndex } : {}) });
      // A DICOM or NIfTI volume travels whole (its first slice is a copy, so both can move).
      if (volume) return { reply: { id: request.id, ok: true, raster, volume }, transfer: [...transferable(raster.data), ...transferable(volume.data)] };
      return { reply: { id: request.id, ok: true, raster }, transfer: transferable(raster.data) };
    }
    case 'encode': {
      const bytes = await encodeImage(request.raster, { format: request.format });
      return { reply: { id: request.id, ok: true, bytes }, transfer: transferable(bytes) };
    }
    case 'encode-volume': {
      // An uploaded volume is one file, so its result is one file too (a multi-frame DICOM or a NIfTI volume).
      const [bytes] = encodeVolume(request.volume, { format: request.format, ...(request.derivation ? { derivation: request.derivation } : {}) });
      return { reply: { id: request.id, ok: true, bytes: bytes! }, transfer: transferable(bytes!) };
    }
    case 'encode-segmentation': {
      const bytes = encodeDicomSeg(request.labels, { classes: request.classes.map((name) => ({ name })), algorithm: request.algorithm });
      return { reply: { id: request.id, ok: true, bytes }, transfer: transferable(bytes) };
    }
  }
}

function send(reply: CodecReply, transfer: ArrayBuffer[]): void {
  try {
    parentPort!.postMessage(reply, transfer);
  } catch {
    parentPort!.postMessage(reply); // a buffer that cannot be moved (e.g. owned by native code) is copied instead
  }
}

parentPort!.on('message', (request: CodecRequest) => {
  handle(request).then(
    ({ reply, transfer }) => send(reply, transfer),
    (error: unknown) => send({ id: request.id, ok: false, error: failure(error) }, []),
  );
});
