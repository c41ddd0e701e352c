import { DiffusekitError, invalidOption, makeSchedule, scheduleOf, throwIfAborted, type Engine, type FeatureSelection, type Progress, type ResolvedModel } from '@diffusekit/core';
import type { LabelledImage } from '../dataset/labelled-folder.js';
import { openFeatureBackbone, type FeatureBackbone } from '../features/backbone.js';
import { EnsembleClassifier } from '../mlp/predict-ensemble.js';
import { trainEnsemble } from '../mlp/train-ensemble.js';
import { voteEnsemble } from '../mlp/ensemble-vote.js';
import { choosePixels, countLabelledPixels, featureRowOptions, labelledFeatureRows, requireTwoClasses, type LabelledFeatureRows } from './labelled-pixels.js';
import { ConfusionMatrix } from './metrics.js';

/** The candidate timesteps when none are given: small to middle noise levels of a 1000-step schedule. */
export const DEFAULT_CANDIDATE_TIMESTEPS = [10, 50, 150, 250, 400] as const;

/** One read-out: decoder outputs (manifest roles) at timesteps. */
export interface Readout {
  outputs: string[];
  timesteps: number[];
}

/** A candidate read-out with the validation score of the ensemble trained on it. */
export interface ScoredReadout extends Readout {
  /** Feature vector length. */
  dim: number;
  /** Mean IoU over the validation pixels, in [0, 1]: the mean of `scores`. */
  meanIou: number;
  /** The mIoU of each repeat (ensembles trained with seeds seed, seed + 1, ...). */
  scores: number[];
  seconds: number;
}

export interface SelectReadoutOptions {
  engine: Engine;
  /** The backbone model: a DDPM whose manifest has `features` (any of its decoder outputs may be chosen). */
  model: ResolvedModel;
  /** Number of classes of the masks (labels 0..classes-1; 255 is unlabelled). */
  classes: number;
  /** Decoder outputs the candidates are drawn from (default: every output of the graph except its prediction, "out"). */
  outputs?: readonly string[];
  /** Timesteps the candidates are drawn from (default 10, 50, 150, 250, 400, those the schedule has). */
  timesteps?: readonly number[];
  /** Labelled training pixels every candidate's ensemble trains on (default 50 000). */
  trainPixels?: number;
  /** Labelled validation pixels scored per validation image (default 4096). */
  validationPixelsPerImage?: number;
  /** Ensemble members per candidate (default 5: the ranking, not the last point, is what counts). */
  members?: number;
  /**
   * Ensembles trained per candidate, with different seeds, whose scores are averaged (default 3). A single small
   * ensemble's validation mIoU is noisy (on the aerial crops two selections that drew other pixels scored the same
   * read-out 60.5 and 48.0); the features are shared, so each repeat costs only an ensemble's training.
   */
  repeats?: number;
  seed?: number;
  bands?: readonly number[];
  tile?: number;
  signal?: AbortSignal;
  /** Feature extraction reports `item` per image; each scored candidate is reported through `onCandidate`. */
  onProgress?: (progress: Progress) => void;
  onCandidate?: (scored: ScoredReadout, index: number, of: number) => void;
}

export interface ReadoutSelection {
  best: ScoredReadout;
  /** Every candidate in the order tried. */
  tried: ScoredReadout[];
  trainImages: number;
  validationImages: number;
  trainPixels: number;
  validationPixels: number;
  members: number;
  repeats: number;
}

function columnsOf(superset: FeatureBackbone, readout: Readout): number[] {
  const perTimestep = superset.outputs.reduce((s, o) => s + o.channels, 0);
  const columns: number[] = [];
  for (const t of readout.timesteps) {
    const base = superset.timesteps.indexOf(t) * perTimestep;
    let offset = 0;
    for (const o of superset.outputs) {
      if (readout.outputs.includes(o.role)) for (let c = 0; c < o.channels; c++) columns.push(base + offset + c);
      offset += o.channels;
    }
  }
  return columns;
}

function pickColumns(rows: LabelledFeatureRows, from: number, columns: readonly number[]): Float32Array {
  const out = new Float32Array(rows.count * columns.length);
  for (let r = 0; r < rows.count; r++) {
    const src = r * from;
    const dst = r * columns.length;
    for (let j = 0; j < columns.length; j++) out[dst + j] = rows.features[src + columns[j]!]!;
  }
  return out;
}

/** Timestep sets tried with every output: each alone, the paper's 50/150/250, and a few spreads. */
function timestepSets(pool: readonly number[]): number[][] {
  const sets = [...pool.map((t) => [t]), [50, 150, 250], [10, 50, 150], [150, 250, 400], [...pool]];
  const seen = new Set<string>();
  return sets.filter((set) => {
    const key = set.join();
    if (set.length === 0 || !set.every((t) => pool.includes(t)) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function requireImages(images: readonly LabelledImage[], what: string): void {
  if (images.length === 0) throw new DiffusekitError('TRAINING_DATA_INVALID', `No ${what} images: choosing a read-out needs labelled training and validation images`);
}

/** The record a backbone's model.json keeps of how its default read-out was chosen (`features.selection`). */
export function featureSelectionRecord(result: ReadoutSelection, dataset: string): FeatureSelection {
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    dataset,
    trainImages: result.trainImages,
    validationImages: result.validationImages,
    metric: 'mIoU',
    score: round(result.best.meanIou),
    tried: result.tried.map((t) => ({ outputs: t.outputs, timesteps: t.timesteps, score: round(t.meanIou) })),
  };
}

/**
 * Chooses which decoder outputs, at which timesteps, feed the MLPs, on a labelled validation split (Baranchuk et al.
 * 2022 pick blocks and timesteps per data set this way). Every candidate trains the same small ensemble on the same
 * training pixels and is scored by mIoU on the same validation pixels. Stage one tries timestep sets with every
 * output; stage two tries every proper subset of the outputs at the best timesteps. Features are extracted once, for
 * all outputs at all candidate timesteps, so the cost is one backbone pass per image per timestep plus the ensembles.
 */
export async function selectReadout(train: readonly LabelledImage[], validation: readonly LabelledImage[], options: SelectReadoutOptions): Promise<ReadoutSelection> {
  const { model, classes } = options;
  requireImages(train, 'training');
  requireImages(validation, 'validation');
  requireTwoClasses(countLabelledPixels(train, classes));
  countLabelledPixels(validation, classes);
  if (!model.manifest.features) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${model.manifest.id}" lists no feature outputs (model.json "features"), so it cannot be a segmentation backbone`);
  }
  const { trainSteps } = makeSchedule(scheduleOf(model.manifest));
  const pool = [...new Set(options.timesteps ?? DEFAULT_CANDIDATE_TIMESTEPS.filter((t) => t < trainSteps))].sort((a, b) => a - b);
  // Every activation the graph exposes besides its prediction ('out') is a candidate, whatever the current default.
  const roles = options.outputs ? [...options.outputs] : Object.keys(model.manifest.io.outputs).filter((role) => role !== 'out');
  const superset = await openFeatureBackbone(options.engine, model, { outputs: roles, timesteps: pool });
  const seed = options.seed ?? 0;
  const members = options.members ?? 5;
  const repeats = options.repeats ?? 3;
  if (!Number.isInteger(repeats) || repeats < 1) throw invalidOption('repeats', 'a positive integer', repeats);
  const trainChosen = choosePixels(train, options.trainPixels ?? 50_000, seed);
  const perImage = options.validationPixelsPerImage ?? 4096;
  const validationChosen = validation.map((img, i) => choosePixels([img], perImage, seed + 1 + i)[0]!);
  const rowOptions = featureRowOptions(seed, options);
  const trainRows = await labelledFeatureRows(superset, train, trainChosen, rowOptions);
  const validationRows = await labelledFeatureRows(superset, validation, validationChosen, rowOptions);

  const roleNames = superset.outputs.map((o) => o.role);
  const stageOne = timestepSets(pool).map((timesteps): Readout => ({ outputs: roleNames, timesteps }));
  const subsets: string[][] = [];
  for (let mask = 1; mask < (1 << roleNames.length) - 1; mask++) subsets.push(roleNames.filter((_, i) => mask & (1 << i)));
  const total = stageOne.length + subsets.length;
  const tried: ScoredReadout[] = [];
  const score = async (readout: Readout): Promise<ScoredReadout> => {
    throwIfAborted(options.signal);
    const started = performance.now();
    const columns = columnsOf(superset, readout);
    const trainFeatures = pickColumns(trainRows, superset.dim, columns);
    const validationFeatures = pickColumns(validationRows, superset.dim, columns);
    const scores: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const trained = await trainEnsemble(
        { features: trainFeatures, labels: trainRows.labels, count: trainRows.count, dim: columns.length },
        { engine: options.engine, classes, members, seed: seed + r, backend: 'onnxruntime', ...(options.signal ? { signal: options.signal } : {}) },
      );
      const classifier = await EnsembleClassifier.open(options.engine, trained.weights);
      const n = validationRows.count;
      const votes = voteEnsemble(await classifier.probabilities(validationFeatures, n), trained.weights.members, n, classes);
      const confusion = new ConfusionMatrix(classes);
      confusion.add(validationRows.labels, votes.labels);
      scores.push(confusion.meanIou());
    }
    const meanIou = scores.reduce((a, b) => a + b, 0) / repeats;
    const scored = { outputs: [...readout.outputs], timesteps: [...readout.timesteps], dim: columns.length, meanIou, scores, seconds: (performance.now() - started) / 1000 };
    tried.push(scored);
    options.onCandidate?.(scored, tried.length, total);
    return scored;
  };
  const best = (): ScoredReadout => tried.reduce((a, b) => (b.meanIou > a.meanIou ? b : a));
  for (const readout of stageOne) await score(readout);
  const bestTimesteps = best().timesteps;
  for (const subset of subsets) await score({ outputs: subset, timesteps: bestTimesteps });
  return {
    best: best(),
    tried,
    trainImages: train.length,
    validationImages: validation.length,
    trainPixels: trainRows.count,
    validationPixels: validationRows.count,
    members,
    repeats,
  };
}
