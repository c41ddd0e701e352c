import * as ort from 'onnxruntime-node';
import { DiffusekitError, asDiffusekitError } from '../errors.js';
import { fixedBatchSizes, runWithFixedBatch } from './batch-adapter.js';
import type { ProviderName } from './providers.js';
import type { TensorData } from './tensors.js';

export interface SessionInfo {
  readonly key: string;
  readonly provider: ProviderName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

/**
 * One model file loaded in onnxruntime. `run` takes and returns tensors keyed by ONNX tensor name. A graph exported
 * with a fixed batch size still takes any batch: the call is split (see runWithFixedBatch).
 */
export interface ModelSession extends SessionInfo {
  run(inputs: Record<string, TensorData>, outputNames?: readonly string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

export interface LocalSessionOptions {
  /** A model file, or the bytes of an ONNX graph built in memory. */
  file: string | Uint8Array;
  /** How errors name the model (its id and file), when `file` holds bytes. */
  label?: string;
  key: string;
  provider: ProviderName;
  threads?: number;
}

export async function createLocalSession(options: LocalSessionOptions): Promise<ModelSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [options.provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  if (options.threads !== undefined) {
    sessionOptions.intraOpNumThreads = options.threads;
    sessionOptions.interOpNumThreads = 1;
  }
  let session: ort.InferenceSession;
  try {
    session =
      typeof options.file === 'string'
        ? await ort.InferenceSession.create(options.file, sessionOptions)
        : await ort.InferenceSession.create(options.file, sessionOptions);
  } catch (error) {
    throw asDiffusekitError(error, 'ENGINE_FAILED', `Could not load ${describeSource(options)} with the ${options.provider} provider`);
  }
  const fixedBatch = fixedBatchSizes(session.inputMetadata);
  return {
    key: options.key,
    provider: options.provider,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run(inputs, outputNames) {
      return runWithFixedBatch(fixedBatch, inputs, (chunk) => runOnce(chunk, outputNames));
    },
    async release() {
      await session.release();
    },
  };

  async function runOnce(inputs: Record<string, TensorData>, outputNames: readonly string[] | undefined): Promise<Record<string, TensorData>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      if (!session.inputNames.includes(name)) {
        throw new DiffusekitError('ENGINE_FAILED', `Model has no input "${name}". Should be one of: ${session.inputNames.join(', ')}`);
      }
      feeds[name] = new ort.Tensor('float32', t.data, t.dims as number[]);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = outputNames ? await session.run(feeds, outputNames as string[]) : await session.run(feeds);
    } catch (error) {
      throw asDiffusekitError(error, 'ENGINE_FAILED', `Inference failed for ${describeSource(options)}`);
    }
    const out: Record<string, TensorData> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (tensor.type !== 'float32') throw new DiffusekitError('ENGINE_FAILED', `Output "${name}" is ${tensor.type}; only float32 outputs are supported`);
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return out;
  }
}

function describeSource({ file, label }: LocalSessionOptions): string {
  return label ?? (typeof file === 'string' ? file : `an in-memory graph of ${file.byteLength} bytes`);
}
