import { SAMPLERS, parseBandGroups, parseTaskOptions, type TaskOptionSpec } from '@diffusekit/core';

export interface RestoreOptions {
  sampler?: (typeof SAMPLERS)[number];
  steps?: number;
  eta?: number;
  seed: number;
  tile?: number;
  overlap?: number;
  tilesPerCall: number;
  bands?: number[][];
}

export const RESTORE_OPTIONS: readonly TaskOptionSpec[] = [
  { name: 'sampler', type: 'enum', values: SAMPLERS, description: "Sampler; default the model's" },
  { name: 'steps', type: 'integer', min: 1, max: 1000, description: "Network evaluations per tile; default the model's" },
  { name: 'eta', type: 'number', min: 0, max: 1, description: 'DDIM stochasticity: 0 deterministic' },
  { name: 'seed', type: 'integer', min: 0, max: 2 ** 32 - 1, default: 0, description: 'Seed of the shared noise field' },
  { name: 'tile', type: 'integer', min: 16, max: 4096, description: "Tile side in pixels; default the model's tile size" },
  { name: 'overlap', type: 'integer', min: 0, max: 2048, description: 'Minimum overlap between tiles; default a quarter tile' },
  { name: 'tilesPerCall', type: 'integer', min: 1, max: 256, default: 4, description: 'Tiles evaluated per engine call' },
  { name: 'bands', type: 'integer-list', description: 'Band groups, e.g. "0,1,2;3"; default all bands in groups of the model channels' },
];

export function parseRestoreOptions(raw: unknown): RestoreOptions {
  const o = parseTaskOptions(raw, RESTORE_OPTIONS);
  const bands = o.bands === undefined ? undefined : typeof o.bands === 'string' ? parseBandGroups(o.bands) : (o.bands as number[][]);
  return {
    ...(o.sampler === undefined ? {} : { sampler: o.sampler as RestoreOptions['sampler'] }),
    ...(o.steps === undefined ? {} : { steps: o.steps as number }),
    ...(o.eta === undefined ? {} : { eta: o.eta as number }),
    seed: o.seed as number,
    ...(o.tile === undefined ? {} : { tile: o.tile as number }),
    ...(o.overlap === undefined ? {} : { overlap: o.overlap as number }),
    tilesPerCall: o.tilesPerCall as number,
    ...(bands === undefined ? {} : { bands }),
  };
}
