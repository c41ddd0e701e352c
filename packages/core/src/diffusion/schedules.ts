import { DiffusekitError, describeValue } from '../errors.js';

/** How the forward process adds noise over `trainSteps` steps; the same description a model manifest carries. */
export type ScheduleSpec =
  | { kind: 'linear'; betaStart?: number; betaEnd?: number; trainSteps: number }
  | { kind: 'quad'; betaStart?: number; betaEnd?: number; trainSteps: number }
  | { kind: 'cosine'; trainSteps: number; offset?: number; maxBeta?: number }
  | { kind: 'betas'; betas: ArrayLike<number> };

export type ScheduleKind = ScheduleSpec['kind'];

/** The tables of a noise schedule, indexed by training timestep 0 .. trainSteps - 1. */
export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  /** The description with every default filled in; JSON-safe. */
  readonly spec: ScheduleSpec;
  readonly trainSteps: number;
  readonly betas: Float64Array;
  /** 1 - beta_t */
  readonly alphas: Float64Array;
  /** The product of alphas[0..t]: the fraction of signal variance left at step t. */
  readonly alphaBar: Float64Array;
}

/** Defaults of Ho et al. 2020 (DDPM), the schedule most released checkpoints were trained with. */
export const DEFAULT_BETA_START = 1e-4;
export const DEFAULT_BETA_END = 0.02;
/** Nichol & Dhariwal 2021, section 3.2: the offset s that keeps beta_0 from being vanishingly small. */
export const COSINE_OFFSET = 0.008;
/** Nichol & Dhariwal 2021 clip betas at 0.999 to avoid the singularity at t = T. */
export const COSINE_MAX_BETA = 0.999;
const MAX_TRAIN_STEPS = 1_000_000;

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['linear', 'quad', 'cosine', 'betas'];

function scheduleInvalid(field: string, expected: string, received: unknown): DiffusekitError {
  return new DiffusekitError('SCHEDULE_INVALID', `Expected ${expected} for schedule.${field} but received ${describeValue(received)}`, {
    details: { field: `schedule.${field}`, expected },
  });
}

function readTrainSteps(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TRAIN_STEPS) {
    throw scheduleInvalid('trainSteps', `an integer in [1, ${MAX_TRAIN_STEPS}]`, value);
  }
  return value;
}

function readBeta(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw scheduleInvalid(field, 'a number in (0, 1)', value);
  return value;
}

function linspace(start: number, end: number, count: number): Float64Array {
  const out = new Float64Array(count);
  if (count === 1) {
    out[0] = start;
    return out;
  }
  const stride = (end - start) / (count - 1);
  for (let i = 0; i < count; i++) out[i] = start + i * stride;
  out[count - 1] = end;
  return out;
}

function cosineBetas(trainSteps: number, offset: number, maxBeta: number): Float64Array {
  // alpha-bar(t) = f(t) / f(0), f(t) = cos^2(((t / T + s) / (1 + s)) * pi / 2); beta_t = 1 - alpha-bar(t+1) / alpha-bar(t).
  const f = (t: number): number => Math.cos(((t / trainSteps + offset) / (1 + offset)) * (Math.PI / 2)) ** 2;
  const betas = new Float64Array(trainSteps);
  for (let i = 0; i < trainSteps; i++) betas[i] = Math.min(1 - f(i + 1) / f(i), maxBeta);
  return betas;
}

function betasFromSpec(spec: ScheduleSpec): { spec: ScheduleSpec; betas: Float64Array } {
  if (typeof spec !== 'object' || spec === null) throw scheduleInvalid('kind', "one of 'linear', 'quad', 'cosine', 'betas'", spec);
  switch (spec.kind) {
    case 'linear':
    case 'quad': {
      const trainSteps = readTrainSteps(spec.trainSteps);
      const betaStart = readBeta('betaStart', spec.betaStart, DEFAULT_BETA_START);
      const betaEnd = readBeta('betaEnd', spec.betaEnd, DEFAULT_BETA_END);
      if (betaEnd < betaStart) throw scheduleInvalid('betaEnd', `a number >= betaStart (${betaStart})`, betaEnd);
      const normalized = { kind: spec.kind, betaStart, betaEnd, trainSteps };
      if (spec.kind === 'linear') return { spec: normalized, betas: linspace(betaStart, betaEnd, trainSteps) };
      // "quad": linear in sqrt(beta), then squared (the schedule SR3 and latent diffusion call quadratic / scaled linear).
      const roots = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), trainSteps);
      for (let i = 0; i < trainSteps; i++) roots[i] = roots[i]! * roots[i]!;
      return { spec: normalized, betas: roots };
    }
    case 'cosine': {
      const trainSteps = readTrainSteps(spec.trainSteps);
      const offset = spec.offset ?? COSINE_OFFSET;
      if (typeof offset !== 'number' || !(offset > 0 && offset < 1)) throw scheduleInvalid('offset', 'a number in (0, 1)', offset);
      const maxBeta = readBeta('maxBeta', spec.maxBeta, COSINE_MAX_BETA);
      return { spec: { kind: 'cosine', trainSteps, offset, maxBeta }, betas: cosineBetas(trainSteps, offset, maxBeta) };
    }
    case 'betas': {
      const source = spec.betas as unknown;
      if (
        typeof source !== 'object' || source === null || typeof (source as ArrayLike<number>).length !== 'number' ||
        (source as ArrayLike<number>).length < 1 || (source as ArrayLike<number>).length > MAX_TRAIN_STEPS
      ) {
        throw scheduleInvalid('betas', `a non-empty array of at most ${MAX_TRAIN_STEPS} numbers`, source);
      }
      const list = source as ArrayLike<number>;
      const betas = new Float64Array(list.length);
      for (let i = 0; i < list.length; i++) {
        const beta = list[i];
        if (typeof beta !== 'number' || !(beta > 0 && beta < 1)) throw scheduleInvalid(`betas[${i}]`, 'a number in (0, 1)', beta);
        betas[i] = beta;
      }
      return { spec: { kind: 'betas', betas: Array.from(betas) }, betas };
    }
    default:
      throw scheduleInvalid('kind', "one of 'linear', 'quad', 'cosine', 'betas'", (spec as { kind?: unknown }).kind);
  }
}

/** The number of training steps a schedule describes (its table length). */
export function trainStepsOf(spec: ScheduleSpec): number {
  return spec.kind === 'betas' ? spec.betas.length : spec.trainSteps;
}

/** Builds the beta / alpha / alpha-bar tables; an invalid description throws SCHEDULE_INVALID naming the field. */
export function makeSchedule(spec: ScheduleSpec): NoiseSchedule {
  const { spec: normalized, betas } = betasFromSpec(spec);
  const trainSteps = betas.length;
  const alphas = new Float64Array(trainSteps);
  const alphaBar = new Float64Array(trainSteps);
  let product = 1;
  for (let i = 0; i < trainSteps; i++) {
    const alpha = 1 - betas[i]!;
    alphas[i] = alpha;
    product *= alpha;
    alphaBar[i] = product;
  }
  if (!(alphaBar[trainSteps - 1]! > 0)) {
    throw scheduleInvalid('betas', 'betas whose cumulative alpha product stays above zero', alphaBar[trainSteps - 1]);
  }
  return { kind: normalized.kind, spec: normalized, trainSteps, betas, alphas, alphaBar };
}
