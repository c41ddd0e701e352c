import { parentPort } from 'node:worker_threads';
import { DiffusekitError, asDiffusekitError } from '../errors.js';
import { createLocalSession, type ModelSession } from './local-session.js';
import type { SessionSpec, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const sessions = new Map<string, Promise<ModelSession>>();

function sessionFor(spec: SessionSpec): Promise<ModelSession> {
  let session = sessions.get(spec.key);
  if (!session) {
    session = createLocalSession(spec);
    sessions.set(spec.key, session);
    session.catch(() => sessions.delete(spec.key));
  }
  return session;
}

function openedSession(key: string): Promise<ModelSession> {
  const session = sessions.get(key);
  if (!session) throw new DiffusekitError('WORKER_FAILED', `The inference worker has no open session ${key}`);
  return session;
}

async function handle(request: WorkerRequest): Promise<{ response: WorkerResponse; transfer: ArrayBuffer[] }> {
  switch (request.type) {
    case 'open': {
      const s = await sessionFor(request.spec);
      return { response: { type: 'opened', id: request.id, inputNames: [...s.inputNames], outputNames: [...s.outputNames] }, transfer: [] };
    }
    case 'run': {
      const s = await (request.spec ? sessionFor(request.spec) : openedSession(request.key));
      const outputs = await s.run(request.inputs, request.outputNames);
      // onnxruntime hands back fresh buffers, so they can be moved to the caller instead of copied.
      const transfer = Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer);
      return { response: { type: 'result', id: request.id, outputs }, transfer: [...new Set(transfer)] };
    }
    case 'release': {
      const s = sessions.get(request.key);
      sessions.delete(request.key);
      if (s) await (await s).release();
      return { response: { type: 'released', id: request.id }, transfer: [] };
    }
  }
}

parentPort!.on('message', (request: WorkerRequest) => {
  handle(request).then(
    ({ response, transfer }) => parentPort!.postMessage(response, transfer),
    (error: unknown) => {
      const e = asDiffusekitError(error, 'ENGINE_FAILED', 'Worker inference failed');
      parentPort!.postMessage({ type: 'error', id: request.id, error: { code: e.code, message: e.message, details: e.details } } satisfies WorkerResponse);
    },
  );
});
