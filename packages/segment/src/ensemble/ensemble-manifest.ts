import { DiffusekitError } from '@diffusekit/core';

export type Rgb = [number, number, number];

export interface SegmentClass {
  name: string;
  /** Colour of the class in overlays and colour masks. */
  color: Rgb;
}

/** Label value that marks unlabelled pixels in class-index masks (and the ignore colour's index). */
export const IGNORE_INDEX = 255;
export const ENSEMBLE_FILE = 'ensemble.json';
export const WEIGHTS_FILE = 'weights.bin';

/** The `ensemble.json` of a trained segmentation ensemble folder. */
export interface EnsembleManifest {
  schema: 1;
  kind: 'diffusekit-segment-ensemble';
  classes: SegmentClass[];
  ignoreIndex: number;
  backbone: {
    id: string;
    sha256: string;
    timesteps: number[];
    outputs: string[];
    dim: number;
  };
  /** Seed of the noise field used for the features; prediction must reuse it. */
  seed: number;
  members: number;
  hidden: [number, number];
  /** Bands fed to the backbone (0-based) when chosen at training; otherwise each image's default (RGB, or grey repeated). */
  bands?: number[];
  training: {
    images: number;
    labelledPixels: number;
    pixelsPerClass: number[];
    /** Which trainer ran: onnxruntime on the CPU cores, or TensorFlow.js (GPU). */
    backend: 'onnxruntime' | 'tensorflow';
    epochs: number;
    losses: number[];
    seconds: number;
  };
  weights: { file: string; sha256: string; bytes: number };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => Number.isInteger(v) && (v as number) >= min;
const isRgb = (v: unknown): v is Rgb => Array.isArray(v) && v.length === 3 && v.every((c) => isInt(c) && c <= 255);

/** Checks an ensemble.json, naming every field that is wrong. */
export function parseEnsembleManifest(raw: unknown, where: string): EnsembleManifest {
  const problems: string[] = [];
  const bad = (field: string, problem: string): void => void problems.push(`${field}: ${problem}`);
  if (!isObj(raw)) throw new DiffusekitError('ENSEMBLE_INVALID', `${where} is not a JSON object`);
  if (raw.schema !== 1) bad('schema', 'expected 1');
  if (raw.kind !== 'diffusekit-segment-ensemble') bad('kind', 'expected "diffusekit-segment-ensemble"');
  if (!Array.isArray(raw.classes) || raw.classes.length < 2 || !raw.classes.every((c) => isObj(c) && typeof c.name === 'string' && isRgb(c.color))) {
    bad('classes', 'expected at least two {name, color: [r, g, b]}');
  }
  if (!isInt(raw.ignoreIndex) || (raw.ignoreIndex as number) > 255) bad('ignoreIndex', 'expected an integer 0..255');
  const b = raw.backbone;
  if (!isObj(b) || typeof b.id !== 'string' || typeof b.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(b.sha256) ||
      !Array.isArray(b.timesteps) || !b.timesteps.every((t) => isInt(t)) || !Array.isArray(b.outputs) || !isInt(b.dim, 1)) {
    bad('backbone', 'expected {id, sha256 (64 hex digits), timesteps, outputs, dim}');
  }
  if (!isInt(raw.seed)) bad('seed', 'expected a non-negative integer');
  if (!isInt(raw.members, 1)) bad('members', 'expected a positive integer');
  if (!Array.isArray(raw.hidden) || raw.hidden.length !== 2 || !raw.hidden.every((h) => isInt(h, 1))) bad('hidden', 'expected two positive integers');
  if (raw.bands !== undefined && (!Array.isArray(raw.bands) || raw.bands.length < 1 || !raw.bands.every((v) => isInt(v)))) bad('bands', 'expected a non-empty array of band indices');
  if (!isObj(raw.training)) bad('training', 'expected an object');
  const w = raw.weights;
  if (!isObj(w) || typeof w.file !== 'string' || w.file.includes('/') || w.file.includes('\\') || typeof w.sha256 !== 'string' || !isInt(w.bytes, 1)) {
    bad('weights', 'expected {file (a name in the folder), sha256, bytes}');
  }
  if (problems.length) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `${where} is not a valid ensemble manifest: ${problems.join('; ')}`, { details: { problems } });
  }
  return raw as unknown as EnsembleManifest;
}
