import type { ProviderName } from './providers.js';
import type { TensorData } from './tensors.js';

export interface SessionSpec {
  key: string;
  /** A model file, or the bytes of an ONNX graph built in memory. */
  file: string | Uint8Array;
  /** How errors name the model (its id and file), when `file` holds bytes. */
  label?: string;
  provider: ProviderName;
  threads?: number;
}

export type WorkerRequest =
  | { type: 'open'; id: number; spec: SessionSpec }
  /** `spec` travels only until the worker has the session open: a model's bytes are not copied with every run. */
  | { type: 'run'; id: number; key: string; spec?: SessionSpec; inputs: Record<string, TensorData>; outputNames?: readonly string[] }
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
