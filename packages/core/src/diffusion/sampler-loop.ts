import { DiffusekitError, asDiffusekitError, describeValue, invalidOption, throwIfAborted } from '../errors.js';
import { createRng } from '../random/rng.js';
import type { Rng } from '../random/rng.js';
import { TileFusion } from '../tiling/blend.js';
import { cropTopLeft, extractTiles, reflectPad } from '../tiling/pad.js';
import type { ChwShape } from '../tiling/pad.js';
import { planTiles, wholeImagePlan } from '../tiling/plan.js';
import type { TilePlan, TileRect } from '../tiling/plan.js';
import { KnownPixels, renoise, type KnownRegion } from './known-region.js';
import { fillNoiseField, type NoiseOrigin } from './noise-field.js';
import { noiseInputFor } from './noise-input.js';
import type { NoiseInputKind } from './noise-input.js';
import type { Scheduler } from './scheduler.js';

/** One network evaluation on a batch of equally sized tiles. */
export interface ModelBatch {
  /** Noisy input x_t as [n, channels, height, width]. Read-only, and valid only until the returned promise settles. */
  readonly x: Float32Array;
  readonly n: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** The value for the network's noise-level input (see `noiseInputFor`). */
  readonly noiseLevel: number;
  /** The training timestep of this step. */
  readonly timestep: number;
  /** Where each tile of the batch lies in the padded image; crop per-tile conditioning with these. */
  readonly tiles: readonly TileRect[];
  /** The whole layout, including the padded size the conditioning must be reflect-padded to. */
  readonly plan: TilePlan;
}

/** The network as the loop sees it: returns the raw prediction (eps, x0 or v) with the shape of `batch.x`. */
export type SamplerModel = (batch: ModelBatch) => Promise<Float32Array>;

export type SamplerProgress = { kind: 'step'; step: number; of: number } | { kind: 'tile'; tile: number; of: number };

export interface SamplerStats {
  /** Time spent waiting for the model, summed over calls. */
  modelMs: number;
  /** Wall time of the whole run; totalMs - modelMs is the loop's own overhead. */
  totalMs: number;
  modelCalls: number;
  steps: number;
  tilesPerStep: number;
}

export interface SamplerTiling {
  tile: number;
  overlap?: number;
  multipleOf?: number;
  /** Tiles per model call (the batch size); default 1. The last call of a step may hold fewer. */
  tilesPerCall?: number;
}

export interface RunSamplerOptions {
  /** A scheduler on which setTimesteps was called; the run works on a clone, so it can be shared. */
  scheduler: Scheduler;
  model: SamplerModel;
  shape: ChwShape;
  tiling?: SamplerTiling;
  /** Seed of the run's noise; give either a seed or an rng. */
  seed?: number;
  rng?: Rng;
  /** Start from a given x_t (CHW, unpadded) at scheduler.timesteps[startStep] instead of pure noise. */
  init?: { x: Float32Array; startStep: number };
  noiseInput: NoiseInputKind;
  /** Inpainting: pixels kept from a given image, re-imposed after every step, with optional RePaint resampling. */
  known?: KnownRegion;
  /**
   * Where this image lies in a larger one (its top-left pixel there), when it is a window of it: the noise then is
   * exactly what a run over the larger image would draw for these pixels (see fillNoiseField). Default (0, 0).
   */
  noiseOrigin?: NoiseOrigin;
  signal?: AbortSignal;
  onProgress?: (event: SamplerProgress) => void;
  onStats?: (stats: SamplerStats) => void;
}

/**
 * rng.derive ids: the initial noise, then one stream per timestep index, so a run resumed at step k reuses them.
 * Resampled tries of a step derive from the step's stream; the known region's noise has two families of its own,
 * numbered above any timestep index.
 */
const INITIAL_NOISE_STREAM = 0;
const stepNoiseStream = (index: number): number => 1 + index;
const KNOWN_NOISE_STREAM = 2 ** 32;
const RENOISE_STREAM = 2 ** 32 + 1;

function abortedError(signal: AbortSignal): DiffusekitError {
  try {
    throwIfAborted(signal);
  } catch (error) {
    return error as DiffusekitError;
  }
  return new DiffusekitError('ABORTED', 'The operation was aborted');
}

/** Settles with the promise, or rejects with ABORTED as soon as the signal fires. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal));
    if (signal.aborted) {
      promise.catch(() => {});
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Realm-independent: a Float32Array made in a worker, vm context or native addon fails `instanceof` here. */
function isFloat32Array(value: unknown): value is Float32Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Float32Array]';
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function checkShape(shape: ChwShape): void {
  for (const key of ['channels', 'height', 'width'] as const) {
    const value = shape?.[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw invalidOption(`shape.${key}`, 'a positive integer', value);
    }
  }
}

function resolveRng(seed: number | undefined, rng: Rng | undefined): Rng {
  if (rng !== undefined && seed !== undefined) throw invalidOption('seed', 'either a seed or an rng, not both', seed);
  if (rng !== undefined) return rng;
  if (seed === undefined) throw invalidOption('seed', 'a seed (non-negative integer) or an rng', seed);
  return createRng(seed);
}

async function callModel(model: SamplerModel, batch: ModelBatch, signal: AbortSignal | undefined): Promise<Float32Array> {
  let output: unknown;
  try {
    output = await raceAbort(Promise.resolve().then(() => model(batch)), signal);
  } catch (error) {
    throw asDiffusekitError(error, 'ENGINE_FAILED', 'The model call failed');
  }
  const expected = batch.n * batch.channels * batch.height * batch.width;
  if (!isFloat32Array(output) || output.length !== expected) {
    const received = isFloat32Array(output) ? `${output.length} values` : describeValue(output);
    throw new DiffusekitError(
      'MODEL_INCOMPATIBLE',
      `Expected the model to return a Float32Array of ${expected} values ` +
        `([${batch.n}, ${batch.channels}, ${batch.height}, ${batch.width}]) but it returned ${received}`,
    );
  }
  return output;
}

interface PredictorContext {
  model: SamplerModel;
  plan: TilePlan;
  channels: number;
  tiling: SamplerTiling | undefined;
  signal: AbortSignal | undefined;
  onProgress: ((event: SamplerProgress) => void) | undefined;
  stats: SamplerStats;
}

/**
 * Returns a function that evaluates the model at one timestep and gives one full-image prediction: the padded image
 * in one call when untiled, otherwise every tile (tilesPerCall per call) fused with the blend weights.
 */
function createPredictor(context: PredictorContext): (x: Float32Array, t: number, noiseLevel: number) => Promise<Float32Array> {
  const { model, plan, channels, tiling, signal, onProgress, stats } = context;
  const timedCall = async (batch: ModelBatch): Promise<Float32Array> => {
    const started = performance.now();
    try {
      return await callModel(model, batch, signal);
    } finally {
      stats.modelMs += performance.now() - started;
      stats.modelCalls += 1;
    }
  };
  if (tiling === undefined) {
    const { paddedHeight: height, paddedWidth: width, tiles } = plan;
    return (x, timestep, noiseLevel) => timedCall({ x, n: 1, channels, height, width, noiseLevel, timestep, tiles, plan });
  }
  const tilesPerCall = tiling.tilesPerCall ?? 1;
  if (!Number.isInteger(tilesPerCall) || tilesPerCall < 1) throw invalidOption('tiling.tilesPerCall', 'a positive integer', tilesPerCall);
  const paddedShape: ChwShape = { channels, height: plan.paddedHeight, width: plan.paddedWidth };
  const fusion = new TileFusion(plan, channels);
  const fused = new Float32Array(channels * plan.paddedHeight * plan.paddedWidth);
  const perTile = channels * plan.tileHeight * plan.tileWidth;
  const batchBuffer = new Float32Array(perTile * Math.min(tilesPerCall, plan.tiles.length));
  const total = plan.tiles.length;
  return async (x, timestep, noiseLevel) => {
    fusion.reset();
    for (let first = 0; first < total; first += tilesPerCall) {
      throwIfAborted(signal);
      const tiles = plan.tiles.slice(first, first + tilesPerCall);
      const batchX = extractTiles(x, paddedShape, tiles, batchBuffer.subarray(0, perTile * tiles.length));
      const out = await timedCall({
        x: batchX, n: tiles.length, channels, height: plan.tileHeight, width: plan.tileWidth, noiseLevel, timestep, tiles, plan,
      });
      tiles.forEach((rect, i) => fusion.add(rect.index, out, i * perTile));
      onProgress?.({ kind: 'tile', tile: first + tiles.length, of: total });
    }
    return fusion.result(fused);
  };
}

/**
 * The one sampling loop: starts from noise (or `init`), and at every timestep evaluates the model on all tiles,
 * fuses their predictions with the blend weights into one full-image prediction, and takes one scheduler step on the
 * full image. x_t and every step's noise are single fields over the whole padded image, so tile borders leave no
 * seam. With `known`, the known pixels are re-imposed on the full image after every step (and steps are retried for
 * RePaint resampling). Resolves to the final sample, CHW, cropped to `shape`.
 */
export async function runSampler(options: RunSamplerOptions): Promise<Float32Array> {
  const started = performance.now();
  const { model, shape, signal, onProgress, tiling } = options;
  checkShape(shape);
  if (typeof model !== 'function') throw invalidOption('model', 'an async function (batch) => Float32Array', model);
  if (options.scheduler.timesteps.length === 0) {
    throw new DiffusekitError('SCHEDULER_NOT_READY', 'Call scheduler.setTimesteps(steps) before runSampler()', {
      details: { missing: 'setTimesteps', call: 'runSampler' },
    });
  }
  const scheduler = options.scheduler.clone();
  const timesteps = scheduler.timesteps;
  const rng = resolveRng(options.seed, options.rng);
  const imageSize = shape.channels * shape.height * shape.width;
  if (options.init !== undefined && !(isFloat32Array(options.init.x) && options.init.x.length === imageSize)) {
    throw invalidOption('init.x', `a Float32Array of ${imageSize} values (channels x height x width)`, options.init.x);
  }
  const startStep = options.init?.startStep ?? 0;
  if (!Number.isInteger(startStep) || startStep < 0 || startStep >= timesteps.length) {
    throw invalidOption('init.startStep', `an integer in [0, ${timesteps.length - 1}]`, startStep);
  }
  noiseInputFor(options.noiseInput, scheduler, timesteps[0]!); // validates the kind up front
  const plan = tiling
    ? planTiles({ width: shape.width, height: shape.height, tile: tiling.tile, overlap: tiling.overlap, multipleOf: tiling.multipleOf })
    : wholeImagePlan(shape.width, shape.height);
  const stats: SamplerStats = { modelMs: 0, totalMs: 0, modelCalls: 0, steps: 0, tilesPerStep: plan.tiles.length };
  const predict = createPredictor({ model, plan, channels: shape.channels, tiling, signal, onProgress, stats });

  const { paddedHeight, paddedWidth } = plan;
  const size = shape.channels * paddedHeight * paddedWidth;
  // Whole-image buffers are what a large image costs, so there are as few as the step allows: x_t is updated in place,
  // and with tiling the step writes x0 over the fused prediction it has just read (ours, rebuilt every step). Without
  // tiling the prediction is the model's own array, which is not ours to overwrite.
  const x = new Float32Array(size);
  const x0 = tiling === undefined ? new Float32Array(size) : undefined;
  const noise = scheduler.needsNoise ? new Float32Array(size) : undefined;
  const origin = checkOrigin(options.noiseOrigin);
  if (options.init) reflectPad(options.init.x, shape, paddedHeight, paddedWidth, x);
  else fillNoiseField(rng.derive(INITIAL_NOISE_STREAM), shape, paddedHeight, paddedWidth, x, origin);

  const known = options.known === undefined ? undefined : new KnownPixels(options.known, shape, paddedHeight, paddedWidth);
  const tries = known?.resample ?? 1;
  if (tries > 1 && scheduler.config.sampler === 'dpmpp-2m') {
    throw invalidOption('known.resample', '1 with the dpmpp-2m sampler, whose multistep history cannot be rewound (use ddim or ddpm)', tries);
  }
  const knownNoise = known ? new Float32Array(size) : undefined;
  const noiseFrom = (stream: Rng, out: Float32Array): Float32Array => fillNoiseField(stream, shape, paddedHeight, paddedWidth, out, origin);

  const stepsToRun = timesteps.length - startStep;
  for (let index = startStep; index < timesteps.length; index++) {
    const t = timesteps[index]!;
    const previous = scheduler.previousTimestep(t);
    const alphaBarAfter = previous < 0 ? 1 : scheduler.alphaBar(previous);
    for (let attempt = 0; attempt < tries; attempt++) {
      throwIfAborted(signal);
      const modelOut = await predict(x, t, noiseInputFor(options.noiseInput, scheduler, t));
      throwIfAborted(signal);
      const stepStream = attempt === 0 ? rng.derive(stepNoiseStream(index)) : rng.derive(stepNoiseStream(index)).derive(attempt);
      const stepNoise = noise && noiseFrom(stepStream, noise);
      // Each element is read before it is written (see applyStep), so x and the fused prediction can be overwritten.
      scheduler.step(modelOut, t, x, undefined, { noise: stepNoise, out: { prev: x, x0: x0 ?? modelOut } });
      if (known) {
        const fresh = alphaBarAfter < 1 ? noiseFrom(rng.derive(KNOWN_NOISE_STREAM).derive(index).derive(attempt), knownNoise!) : undefined;
        known.impose(x, alphaBarAfter, fresh);
        if (attempt + 1 < tries) {
          renoise(x, alphaBarAfter, scheduler.alphaBar(t), noiseFrom(rng.derive(RENOISE_STREAM).derive(index).derive(attempt), knownNoise!));
        }
      }
    }
    stats.steps += 1;
    onProgress?.({ kind: 'step', step: index - startStep + 1, of: stepsToRun });
    if (index + 1 < timesteps.length) await yieldToEventLoop();
  }

  const paddedShape: ChwShape = { channels: shape.channels, height: paddedHeight, width: paddedWidth };
  const result = size === imageSize ? x : cropTopLeft(x, paddedShape, shape.height, shape.width);
  stats.totalMs = performance.now() - started;
  options.onStats?.(stats);
  return result;
}

function checkOrigin(origin: NoiseOrigin | undefined): NoiseOrigin {
  if (origin === undefined) return { x: 0, y: 0 };
  if (typeof origin !== 'object' || origin === null || !Number.isSafeInteger(origin.x) || !Number.isSafeInteger(origin.y)) {
    throw invalidOption('noiseOrigin', 'an object { x, y } of integers', origin);
  }
  return origin;
}
