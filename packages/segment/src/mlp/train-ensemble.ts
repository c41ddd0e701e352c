import { DiffusekitError, createRng, invalidOption, throwIfAborted, type Engine, type TensorData } from '@diffusekit/core';
import { adamSlot, adamStep, type AdamSlot } from './adam.js';
import { loadTensorflowGpu, trainWithTensorflow, type TensorflowModule } from './tensorflow-trainer.js';
import { BATCH_NORM_MOMENTUM, PARAMETER_NAMES, buildGradientGraph, gradientName, type ParameterName } from './ensemble-graphs.js';
import { defaultHidden, initialWeights, tensorShapes, type EnsembleWeights } from './ensemble-weights.js';

/** Labelled pixels: row i of `features` ([count, dim], row-major) has class `labels[i]`. */
export interface LabelledPixels {
  readonly features: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly dim: number;
}

export interface EpochProgress {
  /** Set when members train one after another (TensorFlow.js): the member this epoch belongs to. */
  member?: number;
  epoch: number;
  maxEpochs: number;
  /** Mean training cross-entropy of each member over this epoch. */
  losses: number[];
  /** Members still training after this epoch. */
  active: number;
}

export interface TrainEnsembleOptions {
  engine: Engine;
  classes: number;
  /** Ensemble size (default 10, as in the paper). */
  members?: number;
  hidden?: readonly [number, number];
  /** Pixels per member per step (default 256). */
  batchSize?: number;
  learningRate?: number;
  /** Passes over the labelled pixels at most (default 4: on 100k pixels a pass is ~400 steps of every member). */
  maxEpochs?: number;
  /**
   * A member stops when its epoch loss has not fallen by at least this fraction for `patience` epochs
   * (defaults 0.01 and 1).
   */
  minImprovement?: number;
  patience?: number;
  seed?: number;
  /**
   * 'auto' (default): TensorFlow.js on the GPU when @tensorflow/tfjs-node-gpu is installed and loads, else
   * onnxruntime on this machine's cores. 'tensorflow' fails with PROVIDER_UNAVAILABLE when it cannot load.
   */
  backend?: 'auto' | 'onnxruntime' | 'tensorflow';
  /** A TensorFlow.js module to train with instead of loading @tensorflow/tfjs-node-gpu (e.g. tfjs-node). */
  tensorflow?: TensorflowModule;
  signal?: AbortSignal;
  onEpoch?: (progress: EpochProgress) => void;
}

export interface TrainedEnsemble {
  backend: 'onnxruntime' | 'tensorflow';
  weights: EnsembleWeights;
  epochs: number;
  /** Final epoch loss of each member. */
  losses: number[];
  steps: number;
}

/**
 * The reference trains with batches of 64. Here every step also pays a fixed cost (one Adam pass over all weights
 * and one engine call), which at 64 dominated: on 100k real pixels × 600 features, 256 ran an epoch about 3× faster
 * and reached the same loss after two epochs (docs/segmentation.md).
 */
export const DEFAULT_BATCH_SIZE = 256;

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw invalidOption(name, `an integer ≥ ${min}`, value);
  return value;
}

/**
 * Trains every member of the ensemble at once with Adam on the cross-entropy loss, one onnxruntime call per step of
 * all members. Each member draws its own initial weights and its own shuffle of the pixels every epoch, which is
 * where the ensemble's diversity comes from.
 */
export async function trainEnsemble(data: LabelledPixels, options: TrainEnsembleOptions): Promise<TrainedEnsemble> {
  const members = positiveInteger('members', options.members ?? 10);
  const batch = positiveInteger('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, 2);
  const maxEpochs = positiveInteger('maxEpochs', options.maxEpochs ?? 4);
  const patience = positiveInteger('patience', options.patience ?? 1);
  const learningRate = options.learningRate ?? 1e-3;
  if (!(learningRate > 0)) throw invalidOption('learningRate', 'a positive number', learningRate);
  const minImprovement = options.minImprovement ?? 0.01;
  const classes = positiveInteger('classes', options.classes, 2);
  const hidden = options.hidden ?? defaultHidden(classes);
  const { count, dim, features, labels } = data;
  if (count < batch) {
    throw new DiffusekitError('TRAINING_DATA_INVALID', `Training needs at least one batch of labelled pixels (${batch}); got ${count}`, {
      details: { labelledPixels: count, batchSize: batch },
    });
  }
  for (let i = 0; i < count; i++) {
    if (labels[i]! >= classes) throw new DiffusekitError('TRAINING_DATA_INVALID', `Label ${labels[i]} at pixel ${i} is not a class index below ${classes}`);
  }

  const choice = options.backend ?? 'auto';
  if (choice !== 'onnxruntime') {
    const loaded = options.tensorflow ? { tf: options.tensorflow } : await loadTensorflowGpu();
    if (loaded.tf) {
      const trained = await trainWithTensorflow(loaded.tf, {
        features, labels, count, dim, classes, members, hidden, batchSize: batch, learningRate, maxEpochs, minImprovement, patience,
        seed: options.seed ?? 0,
        ...(options.signal ? { signal: options.signal } : {}),
        onEpoch: (member, epoch, loss) => options.onEpoch?.({ member, epoch, maxEpochs, losses: [loss], active: members - member }),
      });
      return { backend: 'tensorflow', ...trained, steps: trained.epochs * Math.ceil(count / batch) };
    }
    if (choice === 'tensorflow') {
      throw new DiffusekitError('PROVIDER_UNAVAILABLE', `The TensorFlow.js trainer was asked for but ${loaded.reason}`, { details: { requested: 'tensorflow', available: ['onnxruntime'] } });
    }
  }

  const rng = createRng(options.seed ?? 0);
  const weights = initialWeights(members, dim, hidden, classes, rng.derive(1));
  const shapes = tensorShapes(weights);
  const slots = {} as Record<ParameterName, AdamSlot>;
  for (const name of PARAMETER_NAMES) slots[name] = adamSlot(weights.tensors[name]);
  const session = await options.engine.openGraph(buildGradientGraph());

  const x = new Float32Array(members * batch * dim);
  const target = new Float32Array(members * batch * classes);
  const learningRates = new Float32Array(members);
  const invBatch = { data: Float32Array.of(1 / batch), dims: [1] };
  const active = new Array<boolean>(members).fill(true);
  const best = new Array<number>(members).fill(Infinity);
  const stale = new Array<number>(members).fill(0);
  const stepsPerEpoch = Math.floor(count / batch);
  const shuffleRng = rng.derive(2);
  let step = 0;
  let epochs = 0;
  let losses = new Array<number>(members).fill(NaN);

  for (let epoch = 1; epoch <= maxEpochs && active.some(Boolean); epoch++) {
    const orders = Array.from({ length: members }, (_, m) => permutation(count, shuffleRng.derive(epoch * members + m)));
    const lossSums = new Float64Array(members);
    for (let s = 0; s < stepsPerEpoch; s++) {
      throwIfAborted(options.signal);
      target.fill(0);
      for (let m = 0; m < members; m++) {
        const order = orders[m]!;
        for (let b = 0; b < batch; b++) {
          const pixel = order[s * batch + b]!;
          const row = m * batch + b;
          x.set(features.subarray(pixel * dim, pixel * dim + dim), row * dim);
          target[row * classes + labels[pixel]!] = 1;
        }
      }
      const inputs: Record<string, TensorData> = {
        x: { data: x, dims: [members, batch, dim] },
        target: { data: target, dims: [members, batch, classes] },
        invBatch,
      };
      for (const name of PARAMETER_NAMES) inputs[name] = { data: slots[name].value, dims: shapes[name] };
      const outputs = await session.run(inputs);
      step++;
      for (let m = 0; m < members; m++) learningRates[m] = active[m] ? learningRate : 0;
      for (const name of PARAMETER_NAMES) adamStep(slots[name], outputs[gradientName(name)]!.data, step, learningRates);
      updateRunningStatistics(weights.tensors.mean1, weights.tensors.var1, outputs.batchMean1!.data, outputs.batchVar1!.data, batch, active);
      updateRunningStatistics(weights.tensors.mean2, weights.tensors.var2, outputs.batchMean2!.data, outputs.batchVar2!.data, batch, active);
      const loss = outputs.loss!.data;
      for (let m = 0; m < members; m++) lossSums[m]! += loss[m]!;
    }
    epochs = epoch;
    losses = Array.from(lossSums, (sum) => sum / stepsPerEpoch);
    for (let m = 0; m < members; m++) {
      if (!active[m]) continue;
      if (losses[m]! < best[m]! * (1 - minImprovement)) {
        best[m] = losses[m]!;
        stale[m] = 0;
      } else if (++stale[m]! >= patience) {
        active[m] = false;
      }
    }
    options.onEpoch?.({ epoch, maxEpochs, losses, active: active.filter(Boolean).length });
  }
  return { backend: 'onnxruntime', weights, epochs, losses, steps: step };
}

/** PyTorch's BatchNorm running estimates: exponential averages of the batch mean and the unbiased batch variance. */
function updateRunningStatistics(
  runningMean: Float32Array,
  runningVar: Float32Array,
  batchMean: Float32Array,
  batchVar: Float32Array,
  batch: number,
  active: readonly boolean[],
): void {
  const perMember = runningMean.length / active.length;
  const unbias = batch / (batch - 1);
  for (let i = 0; i < runningMean.length; i++) {
    if (!active[Math.floor(i / perMember)]) continue;
    runningMean[i] = (1 - BATCH_NORM_MOMENTUM) * runningMean[i]! + BATCH_NORM_MOMENTUM * batchMean[i]!;
    runningVar[i] = (1 - BATCH_NORM_MOMENTUM) * runningVar[i]! + BATCH_NORM_MOMENTUM * unbias * batchVar[i]!;
  }
}

function permutation(n: number, rng: ReturnType<typeof createRng>): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
