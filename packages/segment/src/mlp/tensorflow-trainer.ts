import { DiffusekitError, createRng, throwIfAborted } from '@diffusekit/core';
import { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM } from './ensemble-graphs.js';
import { initialWeights, type EnsembleWeights, type TensorName } from './ensemble-weights.js';

/** The parts of the TensorFlow.js API the trainer uses (tfjs-node-gpu, tfjs-node or tfjs all provide them). */
export interface TensorflowModule {
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  tensor1d(values: Int32Array, dtype: 'int32'): TfTensor;
  tensor(values: Float32Array, shape: number[]): TfTensor;
  sequential(config: { layers: TfLayer[] }): TfModel;
  layers: {
    dense(config: { units: number; inputShape?: number[] }): TfLayer;
    activation(config: { activation: 'relu' }): TfLayer;
    batchNormalization(config: { momentum: number; epsilon: number }): TfLayer;
  };
  train: { adam(learningRate: number): unknown };
  losses: { softmaxCrossEntropy(labels: TfTensor, logits: TfTensor): TfTensor };
  getBackend(): string;
}
export interface TfTensor {
  dispose(): void;
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
}
export interface TfLayer {
  setWeights(weights: TfTensor[]): void;
  getWeights(): TfTensor[];
}
export interface TfModel {
  layers: TfLayer[];
  compile(config: { optimizer: unknown; loss: (yTrue: TfTensor, yPred: TfTensor) => TfTensor }): void;
  fit(x: TfTensor, y: TfTensor, config: { batchSize: number; epochs: number; shuffle: boolean; verbose: 0 }): Promise<{ history: { loss: number[] } }>;
  dispose(): void;
}

/** The GPU build of TensorFlow.js, when it is installed and loads (its native library and CUDA found); else undefined. */
export async function loadTensorflowGpu(): Promise<{ tf?: TensorflowModule; reason?: string }> {
  const name = '@tensorflow/tfjs-node-gpu';
  try {
    return { tf: (await import(name)) as TensorflowModule };
  } catch (error) {
    return { reason: `${name} is not usable here: ${(error as Error).message.split('\n')[0]}` };
  }
}

export interface TensorflowTrainingInput {
  features: Float32Array;
  labels: Uint8Array;
  count: number;
  dim: number;
  classes: number;
  members: number;
  hidden: readonly [number, number];
  batchSize: number;
  learningRate: number;
  maxEpochs: number;
  minImprovement: number;
  patience: number;
  seed: number;
  signal?: AbortSignal;
  onEpoch?: (member: number, epoch: number, loss: number) => void;
}

/**
 * Trains the same classifiers with TensorFlow.js, one member after another (on a GPU each member's epoch is a few
 * kernels; the shared input stays on the device), starting from the same initial weights as the onnxruntime trainer
 * and stopping by the same rule. Shuffling is TensorFlow's, so runs are not bit-reproducible.
 */
export async function trainWithTensorflow(tf: TensorflowModule, input: TensorflowTrainingInput): Promise<{ weights: EnsembleWeights; epochs: number; losses: number[] }> {
  const { dim, classes, members, hidden, count } = input;
  const start = initialWeights(members, dim, hidden, classes, createRng(input.seed).derive(1));
  const out = { ...start, tensors: Object.fromEntries(Object.entries(start.tensors).map(([k, v]) => [k, Float32Array.from(v)])) as Record<TensorName, Float32Array> };
  const x = tf.tensor2d(input.features.subarray(0, count * dim), [count, dim]);
  const indices = tf.tensor1d(Int32Array.from(input.labels.subarray(0, count)), 'int32');
  const y = tf.oneHot(indices, classes);
  const losses: number[] = [];
  let epochs = 0;
  const [h1, h2] = hidden;
  const sizes = { w1: dim * h1, b1: h1, w2: h1 * h2, b2: h2, w3: h2 * classes, b3: classes, gamma1: h1, beta1: h1, mean1: h1, var1: h1, gamma2: h2, beta2: h2, mean2: h2, var2: h2 };
  const slice = (name: TensorName, m: number): Float32Array => out.tensors[name].subarray(m * sizes[name], (m + 1) * sizes[name]);
  try {
    for (let m = 0; m < members; m++) {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ units: h1, inputShape: [dim] }),
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.batchNormalization({ momentum: 1 - BATCH_NORM_MOMENTUM, epsilon: BATCH_NORM_EPSILON }),
          tf.layers.dense({ units: h2 }),
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.batchNormalization({ momentum: 1 - BATCH_NORM_MOMENTUM, epsilon: BATCH_NORM_EPSILON }),
          tf.layers.dense({ units: classes }),
        ],
      });
      const set = (layer: number, names: TensorName[], shapes: number[][]): void =>
        model.layers[layer]!.setWeights(names.map((n, i) => tf.tensor(slice(n, m), shapes[i]!)));
      set(0, ['w1', 'b1'], [[dim, h1], [h1]]);
      set(2, ['gamma1', 'beta1', 'mean1', 'var1'], [[h1], [h1], [h1], [h1]]);
      set(3, ['w2', 'b2'], [[h1, h2], [h2]]);
      set(5, ['gamma2', 'beta2', 'mean2', 'var2'], [[h2], [h2], [h2], [h2]]);
      set(6, ['w3', 'b3'], [[h2, classes], [classes]]);
      model.compile({ optimizer: tf.train.adam(input.learningRate), loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
      let best = Infinity;
      let stale = 0;
      let last = NaN;
      for (let epoch = 1; epoch <= input.maxEpochs; epoch++) {
        throwIfAborted(input.signal);
        const history = await model.fit(x, y, { batchSize: input.batchSize, epochs: 1, shuffle: true, verbose: 0 });
        last = history.history.loss[0]!;
        epochs = Math.max(epochs, epoch);
        input.onEpoch?.(m, epoch, last);
        if (last < best * (1 - input.minImprovement)) {
          best = last;
          stale = 0;
        } else if (++stale >= input.patience) {
          break;
        }
      }
      losses.push(last);
      const read = async (layer: number, names: TensorName[]): Promise<void> => {
        const values = model.layers[layer]!.getWeights();
        for (const [i, n] of names.entries()) slice(n, m).set(await values[i]!.data());
      };
      await read(0, ['w1', 'b1']);
      await read(2, ['gamma1', 'beta1', 'mean1', 'var1']);
      await read(3, ['w2', 'b2']);
      await read(5, ['gamma2', 'beta2', 'mean2', 'var2']);
      await read(6, ['w3', 'b3']);
      model.dispose();
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ABORTED') throw error;
    throw new DiffusekitError('ENGINE_FAILED', `TensorFlow.js (${tf.getBackend()}) failed while training: ${(error as Error).message}`, { cause: error });
  } finally {
    x.dispose();
    indices.dispose();
    y.dispose();
  }
  return { weights: out, epochs, losses };
}
