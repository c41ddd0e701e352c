import { DiffusekitError, invalidOption } from '../errors.js';
import type { Rng } from '../random/rng.js';
import { x0Coefficients } from './prediction.js';
import type { Prediction } from './prediction.js';
import { makeSchedule } from './schedules.js';
import type { NoiseSchedule, ScheduleSpec } from './schedules.js';
import { spacedTimesteps } from './spacing.js';
import type { TimestepSpacing } from './spacing.js';
import { applyStep } from './step-kernel.js';
import type { StepScalars } from './step-kernel.js';

export type SamplerName = 'ddpm' | 'ddim' | 'dpmpp-2m';

export const SAMPLER_NAMES: readonly SamplerName[] = ['ddpm', 'ddim', 'dpmpp-2m'];

/**
 * Options of `createScheduler`. One flat shape rather than a union per sampler, so that a sampler name read from a
 * manifest or a request can be passed straight through; `scheduler.config` reports the resolved, per-sampler form.
 */
export interface SchedulerOptions {
  sampler: SamplerName;
  /** DDIM only: 0 = deterministic DDIM, 1 = the DDPM chain; default 0. Other samplers reject it. */
  eta?: number;
  schedule: ScheduleSpec;
  /** What the network predicts; default 'eps'. */
  prediction?: Prediction;
  /** How sampling timesteps are spread over the training timesteps; default 'linspace'. */
  spacing?: TimestepSpacing;
  /** Clamp each predicted x0 to [lo, hi] before it is used (e.g. [-1, 1] for images scaled to that range). */
  clipX0?: readonly [number, number];
}

/** A scheduler's configuration with every default filled in; JSON-safe and accepted back by `createScheduler`. */
export type SchedulerConfig =
  | ({ sampler: 'ddpm' } & ResolvedCommonConfig)
  | ({ sampler: 'ddim'; eta: number } & ResolvedCommonConfig)
  | ({ sampler: 'dpmpp-2m' } & ResolvedCommonConfig);

interface ResolvedCommonConfig {
  prediction: Prediction;
  spacing: TimestepSpacing;
  clipX0: [number, number] | null;
  schedule: ScheduleSpec;
}

export interface SchedulerStepOptions {
  /** Standard normal noise for this step (same length as x); drawn from the rng when absent. */
  noise?: Float32Array;
  /** Buffers for the results (they may alias modelOut or x); new arrays are allocated when absent. */
  out?: { prev?: Float32Array; x0?: Float32Array };
}

export interface SchedulerStepResult {
  /** The sample at the next (less noisy) timestep; the final sample after the last step. */
  prev: Float32Array;
  /** The predicted clean sample at this step (after clipping). */
  x0: Float32Array;
}

export interface Scheduler {
  readonly config: SchedulerConfig;
  readonly schedule: NoiseSchedule;
  /** Sampling timesteps, noisiest first; empty until `setTimesteps`. */
  readonly timesteps: readonly number[];
  /** Whether `step` draws fresh noise (then it needs an rng or `options.noise`). */
  readonly needsNoise: boolean;
  setTimesteps(steps: number): void;
  /** alpha-bar at training timestep t (an integer in [0, trainSteps - 1]). */
  alphaBar(t: number): number;
  /** The timestep after t in `timesteps`, or -1 when t is the last one (the next level is clean data, alpha-bar 1). */
  previousTimestep(t: number): number;
  /** One reverse step from x at timestep t (which must be one of `timesteps`). */
  step(modelOut: Float32Array, t: number, x: Float32Array, rng?: Rng, options?: SchedulerStepOptions): SchedulerStepResult;
  /** sqrt(ab_t) * x0 + sqrt(1 - ab_t) * noise. */
  addNoise(x0: Float32Array, noise: Float32Array, t: number, out?: Float32Array): Float32Array;
  /** Forgets multistep history; call before reusing the scheduler for a new sample. */
  reset(): void;
  /** A fresh scheduler with the same configuration and timesteps and no history. */
  clone(): Scheduler;
}

/** The per-step part that differs between samplers: how prev is made from x0, x, history and noise. */
export interface UpdateScalars {
  prevFromX0: number;
  prevFromX: number;
  prevFromHistory: number;
  noiseScale: number;
}

/** Shared machinery: schedule, timesteps, prediction conversion, clipping, buffers and validation. */
export abstract class BaseScheduler implements Scheduler {
  readonly config: SchedulerConfig;
  readonly schedule: NoiseSchedule;
  abstract readonly needsNoise: boolean;
  private steps: readonly number[] = [];
  private readonly indexByTimestep = new Map<number, number>();
  private noiseScratch: Float32Array | null = null;

  constructor(config: SchedulerConfig) {
    this.config = config;
    this.schedule = makeSchedule(config.schedule);
  }

  get timesteps(): readonly number[] {
    return this.steps;
  }

  setTimesteps(steps: number): void {
    const list = Object.freeze(spacedTimesteps(this.config.spacing, steps, this.schedule.trainSteps));
    this.steps = list;
    this.indexByTimestep.clear();
    list.forEach((t, i) => this.indexByTimestep.set(t, i));
    this.reset();
    this.prepare(list);
  }

  alphaBar(t: number): number {
    const value = Number.isInteger(t) ? this.schedule.alphaBar[t] : undefined;
    if (value === undefined) {
      throw new DiffusekitError(
        'INVALID_ARGUMENT',
        `Expected an integer timestep in [0, ${this.schedule.trainSteps - 1}] but received ${String(t)}`,
      );
    }
    return value;
  }

  previousTimestep(t: number): number {
    const index = this.indexOf(t, 'previousTimestep');
    return this.steps[index + 1] ?? -1;
  }

  step(modelOut: Float32Array, t: number, x: Float32Array, rng?: Rng, options: SchedulerStepOptions = {}): SchedulerStepResult {
    const index = this.indexOf(t, 'step');
    const n = x.length;
    if (modelOut.length !== n) {
      throw new DiffusekitError(
        'INVALID_ARGUMENT',
        `Expected modelOut of length ${n} (the length of x) but received length ${modelOut.length}`,
      );
    }
    const x0Out = options.out?.x0 ?? new Float32Array(n);
    const prevOut = options.out?.prev ?? new Float32Array(n);
    if (x0Out.length !== n || prevOut.length !== n) {
      throw new DiffusekitError(
        'INVALID_ARGUMENT',
        `Expected out.x0 and out.prev of length ${n} but received ${x0Out.length} and ${prevOut.length}`,
      );
    }
    const abT = this.alphaBar(t);
    const update = this.updateFor(index, n);
    let noise: Float32Array | null = null;
    if (update.noiseScale !== 0) noise = this.noiseFor(n, rng, options.noise);
    const x0 = x0Coefficients(this.config.prediction, abT);
    const clip = this.config.clipX0;
    const scalars: StepScalars = {
      x0FromX: x0.fromX,
      x0FromOut: x0.fromOut,
      clipLow: clip ? clip[0] : -Infinity,
      clipHigh: clip ? clip[1] : Infinity,
      ...update,
    };
    applyStep(scalars, modelOut, x, update.prevFromHistory !== 0 ? this.historyFor(n) : null, noise, x0Out, prevOut);
    this.afterStep(index, x0Out);
    return { prev: prevOut, x0: x0Out };
  }

  addNoise(x0: Float32Array, noise: Float32Array, t: number, out: Float32Array = new Float32Array(x0.length)): Float32Array {
    if (noise.length !== x0.length || out.length !== x0.length) {
      throw new DiffusekitError(
        'INVALID_ARGUMENT',
        `Expected x0, noise and out of equal length but received ${x0.length}, ${noise.length} and ${out.length}`,
      );
    }
    const ab = this.alphaBar(t);
    const signal = Math.sqrt(ab);
    const sigma = Math.sqrt(1 - ab);
    for (let i = 0; i < x0.length; i++) out[i] = signal * x0[i]! + sigma * noise[i]!;
    return out;
  }

  reset(): void {}

  abstract clone(): Scheduler;

  /** Precomputes whatever the sampler needs per step once the timesteps are known. */
  protected abstract prepare(timesteps: readonly number[]): void;

  /** Scalars of step `index` (0 = noisiest) for an x of length n. */
  protected abstract updateFor(index: number, n: number): UpdateScalars;

  /** The history buffer the update refers to when prevFromHistory is non-zero. */
  protected historyFor(_n: number): Float32Array {
    throw new DiffusekitError('INVALID_ARGUMENT', 'This sampler keeps no history');
  }

  protected afterStep(_index: number, _x0: Float32Array): void {}

  /** alpha-bar after step `index`: that of the next timestep, or 1 (clean data) after the last step. */
  protected alphaBarAfter(index: number): number {
    const next = this.steps[index + 1];
    return next === undefined ? 1 : this.alphaBar(next);
  }

  protected cloneTimestepsInto(copy: Scheduler): Scheduler {
    if (this.steps.length > 0) copy.setTimesteps(this.steps.length);
    return copy;
  }

  private indexOf(t: number, call: string): number {
    if (this.steps.length === 0) {
      throw new DiffusekitError(
        'SCHEDULER_NOT_READY',
        `Call setTimesteps(steps) before ${call}(): the ${this.config.sampler} scheduler has no timesteps yet`,
        { details: { missing: 'setTimesteps', call } },
      );
    }
    const index = this.indexByTimestep.get(t);
    if (index === undefined) {
      const steps = this.steps;
      const shown = steps.length > 8 ? `${steps.slice(0, 4).join(', ')}, ..., ${steps.slice(-2).join(', ')}` : steps.join(', ');
      throw new DiffusekitError('INVALID_ARGUMENT', `Expected one of the scheduler's timesteps (${shown}) for t but received ${String(t)}`);
    }
    return index;
  }

  private noiseFor(n: number, rng: Rng | undefined, given: Float32Array | undefined): Float32Array {
    if (given !== undefined) {
      if (given.length !== n) {
        throw new DiffusekitError('INVALID_ARGUMENT', `Expected options.noise of length ${n} but received length ${given.length}`);
      }
      return given;
    }
    if (rng === undefined) {
      throw invalidOption('rng', `an Rng (the ${this.config.sampler} step with these settings adds noise)`, rng);
    }
    if (this.noiseScratch?.length !== n) this.noiseScratch = new Float32Array(n);
    return rng.fillNormal(this.noiseScratch);
  }
}
