import { DiffusekitError, isDiffusekitError } from '../errors.js';
import { SCHEDULE_KINDS, makeSchedule, type ScheduleSpec } from '../diffusion/schedules.js';

export const MODEL_TASKS = ['sr3', 'srdiff', 'palette-jpeg', 'palette-inpaint', 'ddpm'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
export const NOISE_INPUTS = ['timestep', 'sqrt-alpha-bar', 'alpha-bar'] as const;
export type NoiseInputKind = (typeof NOISE_INPUTS)[number];
export const PREDICTIONS = ['eps', 'x0', 'v'] as const;
export type PredictionKind = (typeof PREDICTIONS)[number];
export const SAMPLERS = ['ddpm', 'ddim', 'dpmpp-2m'] as const;
export type SamplerName = (typeof SAMPLERS)[number];
export const SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacingName = (typeof SPACINGS)[number];

export interface ModelFileEntry { role: string; path: string; sha256: string; bytes: number }

/** A noise schedule as JSON: the same description `makeSchedule` takes (explicit betas as a plain array). */
export type ManifestSchedule = Exclude<ScheduleSpec, { kind: 'betas' }> | { kind: 'betas'; betas: number[] };

export interface ModelManifest {
  schema: 1;
  id: string;
  version: string;
  task: ModelTask;
  files: ModelFileEntry[];
  io: { inputs: Record<string, string>; outputs: Record<string, string> };
  channels: number;
  range: [number, number];
  scale?: number;
  diffusion: {
    schedule: ManifestSchedule;
    noiseInput: NoiseInputKind;
    prediction: PredictionKind;
    target: 'image' | 'residual';
    clipX0: boolean;
    defaultSampler: SamplerName;
    defaultSteps: number;
    /** Timestep spacing the model was evaluated with; default 'trailing' (includes the last training step). */
    spacing: TimestepSpacingName;
  };
  /**
   * size: the tile edge the model was trained for; multipleOf: the stride every input edge must divide by;
   * contextMargin: input pixels of context a conditioning encoder needs on each side of a tile (its receptive radius),
   * so that tiles see the same features as the whole image.
   */
  tile?: { size: number; multipleOf: number; contextMargin?: number };
  features?: { outputs: string[]; timesteps: number[]; selection?: FeatureSelection };
  trainedOn: string;
  license: string;
  metrics?: Record<string, number>;
}

/**
 * How a backbone's default feature read-out (features.outputs and .timesteps) was chosen: each candidate's score on
 * labelled validation images that neither the ensembles' training images nor the benchmark's test images include.
 */
export interface FeatureSelection {
  dataset: string;
  trainImages: number;
  validationImages: number;
  metric: 'mIoU';
  score: number;
  tried: { outputs: string[]; timesteps: number[]; score: number }[];
}

export interface ManifestProblem { field: string; problem: string }

/** Model ids are plain names so that an id can never be turned into a path outside a models folder. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Validates a parsed model.json and returns it typed. Every problem is collected, so one error names every bad field.
 */
export function parseManifest(raw: unknown, source: string): ModelManifest {
  const problems: ManifestProblem[] = [];
  const bad = (field: string, problem: string): void => void problems.push({ field, problem });
  const oneOf = <T extends string>(field: string, v: unknown, allowed: readonly T[]): void => {
    if (!allowed.includes(v as T)) bad(field, `expected one of ${allowed.join(', ')}`);
  };

  if (!isObj(raw)) {
    throw new DiffusekitError('MANIFEST_INVALID', `Model manifest ${source} is not a JSON object`, {
      details: { source, problems: [{ field: '', problem: 'expected an object' }] },
    });
  }
  if (raw.schema !== 1) bad('schema', 'expected 1');
  if (typeof raw.id !== 'string' || !MODEL_ID_PATTERN.test(raw.id)) bad('id', `expected a string matching ${MODEL_ID_PATTERN}`);
  if (typeof raw.version !== 'string' || raw.version === '') bad('version', 'expected a non-empty string');
  oneOf('task', raw.task, MODEL_TASKS);

  if (!Array.isArray(raw.files) || raw.files.length === 0) bad('files', 'expected a non-empty array');
  else {
    raw.files.forEach((f: unknown, i) => {
      const at = `files[${i}]`;
      if (!isObj(f)) return bad(at, 'expected an object');
      if (typeof f.role !== 'string' || f.role === '') bad(`${at}.role`, 'expected a non-empty string');
      if (typeof f.path !== 'string' || f.path === '' || f.path.includes('..') || f.path.startsWith('/') || f.path.includes('\\'))
        bad(`${at}.path`, 'expected a relative path inside the model folder');
      if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) bad(`${at}.sha256`, 'expected 64 lowercase hex digits');
      if (!isPosInt(f.bytes)) bad(`${at}.bytes`, 'expected a positive integer');
    });
  }

  if (!isObj(raw.io)) bad('io', 'expected an object with inputs and outputs');
  else {
    for (const side of ['inputs', 'outputs'] as const) {
      const map = raw.io[side];
      if (!isObj(map) || Object.keys(map).length === 0) bad(`io.${side}`, 'expected a non-empty object of role -> tensor name');
      else for (const [role, name] of Object.entries(map)) if (typeof name !== 'string' || name === '') bad(`io.${side}.${role}`, 'expected a tensor name');
    }
  }

  if (!isPosInt(raw.channels)) bad('channels', 'expected a positive integer');
  const range = raw.range;
  if (!Array.isArray(range) || range.length !== 2 || !range.every(isFiniteNum) || !((range[0] as number) < (range[1] as number)))
    bad('range', 'expected [low, high] with low < high');
  if (raw.scale !== undefined && !isPosInt(raw.scale)) bad('scale', 'expected a positive integer');

  const d = raw.diffusion;
  if (!isObj(d)) bad('diffusion', 'expected an object');
  else {
    const s = d.schedule;
    if (!isObj(s)) bad('diffusion.schedule', 'expected an object');
    else {
      oneOf('diffusion.schedule.kind', s.kind, SCHEDULE_KINDS);
      // A manifest states the betas of a linear or quad schedule rather than leaning on the defaults.
      if (s.kind === 'linear' || s.kind === 'quad') {
        if (!isFiniteNum(s.betaStart)) bad('diffusion.schedule.betaStart', 'expected a number in (0, 1)');
        if (!isFiniteNum(s.betaEnd)) bad('diffusion.schedule.betaEnd', 'expected a number in (0, 1)');
      }
      if (s.kind === 'betas' && !Array.isArray(s.betas)) bad('diffusion.schedule.betas', 'expected an array of numbers in (0, 1)');
      else if (SCHEDULE_KINDS.includes(s.kind as ScheduleSpec['kind'])) {
        // Everything else (ranges, order, trainSteps) is checked by the code that builds the tables.
        try {
          makeSchedule(s as ScheduleSpec);
        } catch (error) {
          if (!isDiffusekitError(error) || error.code !== 'SCHEDULE_INVALID') throw error;
          const field = (error.details as { field?: string } | undefined)?.field ?? 'schedule';
          bad(`diffusion.${field}`, error.message);
        }
      }
    }
    oneOf('diffusion.noiseInput', d.noiseInput, NOISE_INPUTS);
    oneOf('diffusion.prediction', d.prediction, PREDICTIONS);
    oneOf('diffusion.target', d.target ?? 'image', ['image', 'residual'] as const);
    if (d.clipX0 !== undefined && typeof d.clipX0 !== 'boolean') bad('diffusion.clipX0', 'expected a boolean');
    oneOf('diffusion.defaultSampler', d.defaultSampler, SAMPLERS);
    if (!isPosInt(d.defaultSteps)) bad('diffusion.defaultSteps', 'expected a positive integer');
    if (d.spacing !== undefined) oneOf('diffusion.spacing', d.spacing, SPACINGS);
  }

  if (raw.tile !== undefined) {
    const t = raw.tile;
    if (!isObj(t) || !isPosInt(t.size) || !isPosInt(t.multipleOf) || t.size % t.multipleOf !== 0)
      bad('tile', 'expected { size, multipleOf } positive integers with size a multiple of multipleOf');
    else if (t.contextMargin !== undefined && !(Number.isInteger(t.contextMargin) && (t.contextMargin as number) >= 0))
      bad('tile.contextMargin', 'expected a non-negative integer (input pixels)');
  }
  if (raw.features !== undefined) {
    const f = raw.features;
    if (!isObj(f) || !Array.isArray(f.outputs) || f.outputs.length === 0 || !f.outputs.every((o) => typeof o === 'string'))
      bad('features.outputs', 'expected a non-empty array of output roles');
    else if (isObj(raw.io) && isObj(raw.io.outputs))
      for (const o of f.outputs as string[]) if (!(o in raw.io.outputs)) bad('features.outputs', `role "${o}" is not listed in io.outputs`);
    if (!isObj(f) || !Array.isArray(f.timesteps) || f.timesteps.length === 0 || !f.timesteps.every((t) => Number.isInteger(t) && t >= 0))
      bad('features.timesteps', 'expected a non-empty array of non-negative integers');
    if (isObj(f) && f.selection !== undefined && (!isObj(f.selection) || !isFiniteNum(f.selection.score) || !Array.isArray(f.selection.tried)))
      bad('features.selection', 'expected {dataset, trainImages, validationImages, metric, score, tried}');
  }
  if (typeof raw.trainedOn !== 'string') bad('trainedOn', 'expected a string');
  if (typeof raw.license !== 'string') bad('license', 'expected a string');
  if (raw.metrics !== undefined && (!isObj(raw.metrics) || !Object.values(raw.metrics).every(isFiniteNum)))
    bad('metrics', 'expected an object of numbers');

  if (problems.length > 0) {
    const list = problems.map((p) => `${p.field || '(root)'}: ${p.problem}`).join('; ');
    throw new DiffusekitError('MANIFEST_INVALID', `Model manifest ${source} is invalid: ${list}`, { details: { source, problems } });
  }
  const manifest = raw as unknown as ModelManifest;
  return {
    ...manifest,
    diffusion: {
      ...manifest.diffusion,
      target: manifest.diffusion.target ?? 'image',
      clipX0: manifest.diffusion.clipX0 ?? false,
      spacing: manifest.diffusion.spacing ?? 'trailing',
    },
  };
}
