import type { ProviderName } from './providers.js';
import type { TensorData } from './tensors.js';

export interface SessionSpec {
  key: string;
  /** A model file, or the bytes of an ONNX graph built in memory. */
  file: string | Uint8Array;
  provider: ProviderName;
  threads?: number;
}

export type WorkerRequest =
  | { type: 'open'; id: number; spec: SessionSpec }
  | { type: 'run'; id: number; spec: SessionSpec; inputs: Record<string, TensorData>; outputNames?: readonly string[] }
  | { type: 'release'; id: number; key: string };

export interface SerializedError {
  code: string;
  message: string;
  details?: unknown;
}

export type WorkerResponse =
  | { type: 'opened'; id: number; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, TensorData> }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; error: SerializedError };
