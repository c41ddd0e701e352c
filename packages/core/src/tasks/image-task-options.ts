import { parseTaskOptions } from '../runtime/options.js';
import type { TaskOptionSpec } from '../runtime/plugin.js';
import { SAMPLERS, type SamplerName } from '../models/manifest.js';
import { parseBandGroups } from './band-groups.js';

/** Options shared by every diffusion image-to-image task (super-resolution, restoration). */
export interface DiffusionImageOptions {
  sampler?: SamplerName;
  steps?: number;
  eta?: number;
  seed: number;
  /** Tile side in output pixels; default the model's tile size. */
  tile?: number;
  /** Minimum overlap between tiles in output pixels; default a quarter tile. */
  overlap?: number;
  tilesPerCall: number;
  bands?: number[][];
  stretch?: 'dtype' | 'minmax' | 'percentile';
}

export const DIFFUSION_IMAGE_OPTIONS: readonly TaskOptionSpec[] = [
  { name: 'sampler', type: 'enum', values: SAMPLERS, description: "Sampler; default the model's (see `diffusekit models`)" },
  { name: 'steps', type: 'integer', min: 1, max: 1000, description: "Network evaluations per tile; default the model's" },
  { name: 'eta', type: 'number', min: 0, max: 1, description: 'DDIM stochasticity: 0 deterministic, 1 ancestral-like' },
  { name: 'seed', type: 'integer', min: 0, max: 2 ** 32 - 1, default: 0, description: 'Seed of the shared noise field: same seed, same output' },
  { name: 'tile', type: 'integer', min: 16, max: 4096, description: "Tile side in output pixels; default the model's tile size" },
  { name: 'overlap', type: 'integer', min: 0, max: 2048, description: 'Minimum overlap between tiles in output pixels; default a quarter tile' },
  { name: 'tilesPerCall', type: 'integer', min: 1, max: 256, default: 4, description: 'Tiles evaluated per engine call (batch size)' },
  { name: 'bands', type: 'integer-list', description: 'Band groups, e.g. "0,1,2;3,4,5"; default all bands in groups of the model channels' },
  { name: 'stretch', type: 'enum', values: ['dtype', 'minmax', 'percentile'], description: 'How samples map to the model range; default full range for 8-bit, 0.1-99.9 percentiles otherwise' },
];

export function parseDiffusionImageOptions(raw: unknown): DiffusionImageOptions {
  const o = parseTaskOptions(raw, DIFFUSION_IMAGE_OPTIONS);
  const bands = o.bands === undefined ? undefined : typeof o.bands === 'string' ? parseBandGroups(o.bands) : (o.bands as number[][]);
  return {
    ...(o.sampler === undefined ? {} : { sampler: o.sampler as SamplerName }),
    ...(o.steps === undefined ? {} : { steps: o.steps as number }),
    ...(o.eta === undefined ? {} : { eta: o.eta as number }),
    seed: o.seed as number,
    ...(o.tile === undefined ? {} : { tile: o.tile as number }),
    ...(o.overlap === undefined ? {} : { overlap: o.overlap as number }),
    tilesPerCall: o.tilesPerCall as number,
    ...(bands === undefined ? {} : { bands }),
    ...(o.stretch === undefined ? {} : { stretch: o.stretch as DiffusionImageOptions['stretch'] }),
  };
}
