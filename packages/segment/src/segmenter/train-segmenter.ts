import { DiffusekitError, type Engine, type Progress } from '@diffusekit/core';
import type { LabelledImage } from '../dataset/labelled-folder.js';
import { IGNORE_INDEX, type EnsembleManifest, type SegmentClass } from '../ensemble/ensemble-manifest.js';
import type { FeatureBackbone } from '../features/backbone.js';
import type { EnsembleWeights } from '../mlp/ensemble-weights.js';
import type { TensorflowModule } from '../mlp/tensorflow-trainer.js';
import { trainEnsemble, type EpochProgress } from '../mlp/train-ensemble.js';
import { choosePixels, countLabelledPixels, featureRowOptions, labelledFeatureRows, requireTwoClasses } from './labelled-pixels.js';

export interface TrainSegmenterOptions {
  engine: Engine;
  backbone: FeatureBackbone;
  classes: SegmentClass[];
  /** Labelled pixels used for training at most (default 100 000), drawn uniformly from all labelled pixels. */
  maxPixels?: number;
  members?: number;
  hidden?: readonly [number, number];
  batchSize?: number;
  learningRate?: number;
  maxEpochs?: number;
  /** Seed of the feature noise and of the training (default 0). */
  seed?: number;
  bands?: readonly number[];
  /** The ensemble trainer: see trainEnsemble (default 'auto': TensorFlow.js on a GPU when installed, else onnxruntime). */
  backend?: 'auto' | 'onnxruntime' | 'tensorflow';
  tensorflow?: TensorflowModule;
  /** Tile side for the backbone (default 256). */
  tile?: number;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  onEpoch?: (progress: EpochProgress) => void;
}

export interface TrainedSegmenter {
  manifest: Omit<EnsembleManifest, 'weights'>;
  weights: EnsembleWeights;
}

/**
 * Trains a segmentation ensemble on labelled images (Baranchuk et al. 2022): features of the chosen labelled pixels
 * are read from the backbone's decoder maps at the manifest's timesteps (one fixed noise field), then the MLP ensemble
 * is trained on them. Only the chosen pixels' features are ever held in memory.
 */
export async function trainSegmenter(images: readonly LabelledImage[], options: TrainSegmenterOptions): Promise<TrainedSegmenter> {
  const started = performance.now();
  const { backbone, classes } = options;
  const seed = options.seed ?? 0;
  const budget = options.maxPixels ?? 100_000;
  if (images.length === 0) throw new DiffusekitError('TRAINING_DATA_INVALID', 'No labelled images to train on');
  const pixelsPerClass = countLabelledPixels(images, classes.length);
  requireTwoClasses(pixelsPerClass);
  const chosen = choosePixels(images, budget, seed);
  const { features, labels, count } = await labelledFeatureRows(backbone, images, chosen, featureRowOptions(seed, options));
  options.onProgress?.({ kind: 'stage', stage: 'train' });
  const trained = await trainEnsemble(
    { features, labels, count, dim: backbone.dim },
    {
      engine: options.engine,
      classes: classes.length,
      seed,
      ...(options.members ? { members: options.members } : {}),
      ...(options.hidden ? { hidden: options.hidden } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.learningRate ? { learningRate: options.learningRate } : {}),
      ...(options.maxEpochs ? { maxEpochs: options.maxEpochs } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.tensorflow ? { tensorflow: options.tensorflow } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    },
  );
  const manifest: Omit<EnsembleManifest, 'weights'> = {
    schema: 1,
    kind: 'diffusekit-segment-ensemble',
    classes,
    ignoreIndex: IGNORE_INDEX,
    backbone: { id: backbone.id, sha256: backbone.sha256, timesteps: [...backbone.timesteps], outputs: backbone.outputs.map((o) => o.role), dim: backbone.dim },
    seed,
    members: trained.weights.members,
    hidden: [trained.weights.hidden[0], trained.weights.hidden[1]],
    ...(options.bands ? { bands: [...options.bands] } : {}),
    training: {
      images: images.length,
      labelledPixels: count,
      pixelsPerClass,
      backend: trained.backend,
      epochs: trained.epochs,
      losses: trained.losses.map((l) => Math.round(l * 1e5) / 1e5),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    },
  };
  return { manifest, weights: trained.weights };
}
