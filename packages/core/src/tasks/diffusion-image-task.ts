import type { ModelManifest } from '../models/manifest.js';
import type { Raster } from '../raster/types.js';
import { DEFAULT_PERCENTILES, type Stretch } from '../raster/stretch.js';
import type { ImageTaskResult, LoadContext, TaskDefinition } from '../runtime/plugin.js';
import type { RunOptions } from '../runtime/progress.js';
import type { GroupSampler } from './conditional-sampling.js';
import { diffuseRaster, type DiffuseRasterResult } from './diffuse-raster.js';
import { DIFFUSION_IMAGE_OPTIONS, parseDiffusionImageOptions, type DiffusionImageOptions } from './image-task-options.js';
import { schedulerForModel } from './model-scheduler.js';

const DEFAULT_TILE = 128;

function stretchFor(kind: NonNullable<DiffusionImageOptions['stretch']>): Stretch {
  return kind === 'percentile' ? { kind, low: DEFAULT_PERCENTILES.low, high: DEFAULT_PERCENTILES.high } : { kind };
}

export interface DiffusionImageTaskSpec {
  id: string;
  description: string;
  defaultModel: string;
  accepts(manifest: ModelManifest): boolean;
  /** Output pixels per input pixel for this model; checks the model (throwing MODEL_INCOMPATIBLE) when it cannot work. */
  scaleOf(manifest: ModelManifest): number;
  /** Opens the model's sessions and returns how one band group is sampled. */
  createSampler(context: LoadContext, scale: number): Promise<GroupSampler>;
  /** Facts about the input added to the run's info (e.g. the JPEG quality it was saved with). */
  describeInput?(raster: Raster): Record<string, unknown>;
}

export interface DiffusionImageRun {
  raster: Raster;
  manifest: ModelManifest;
  sampleGroup: GroupSampler;
  scale: number;
  options: DiffusionImageOptions;
  runOptions?: RunOptions;
}

/**
 * One run of a diffusion image task: the scheduler, tiling and stretch the options ask for, then `diffuseRaster`
 * (band groups, nodata, the shared noise field and the one sampler loop). For tasks whose input is more than one
 * raster (inpainting's mask) and that therefore cannot use `defineDiffusionImageTask` as it is.
 */
export function runDiffusionImage(run: DiffusionImageRun): Promise<DiffuseRasterResult> {
  const { manifest, options, runOptions = {} } = run;
  const scheduler = schedulerForModel(manifest, {
    ...(options.sampler ? { sampler: options.sampler } : {}),
    ...(options.steps ? { steps: options.steps } : {}),
    ...(options.eta !== undefined ? { eta: options.eta } : {}),
  });
  const tile = options.tile ?? manifest.tile?.size ?? DEFAULT_TILE;
  runOptions.onProgress?.({ kind: 'stage', stage: 'infer' });
  return diffuseRaster({
    raster: run.raster,
    manifest,
    sampleGroup: run.sampleGroup,
    scheduler,
    scale: run.scale,
    tiling: { tile, overlap: options.overlap ?? Math.floor(tile / 4), tilesPerCall: options.tilesPerCall },
    seed: options.seed,
    ...(options.bands ? { bands: options.bands } : {}),
    ...(options.stretch ? { stretch: stretchFor(options.stretch) } : {}),
    ...(runOptions.signal ? { signal: runOptions.signal } : {}),
    ...(runOptions.onProgress ? { onProgress: runOptions.onProgress } : {}),
  });
}

/**
 * An image-to-image task over a conditional diffusion model: band groups, stretch, nodata, tiling with a shared noise
 * field and the one sampler loop all come from `diffuseRaster`; a task only says how its model is conditioned.
 */
export function defineDiffusionImageTask(spec: DiffusionImageTaskSpec): TaskDefinition<Raster, DiffusionImageOptions, ImageTaskResult> {
  return {
    id: spec.id,
    kind: 'image-to-image',
    description: spec.description,
    defaultModel: spec.defaultModel,
    options: DIFFUSION_IMAGE_OPTIONS,
    accepts: spec.accepts,
    parseOptions: parseDiffusionImageOptions,
    async load(context: LoadContext) {
      const manifest = context.model.manifest;
      const scale = spec.scaleOf(manifest);
      const sampleGroup = await spec.createSampler(context, scale);
      return {
        model: manifest,
        async run(raster, options, runOptions = {}) {
          const result = await runDiffusionImage({ raster, manifest, sampleGroup, scale, options, runOptions });
          return {
            raster: result.raster,
            info: { model: manifest.id, ...(scale > 1 ? { scale } : {}), ...spec.describeInput?.(raster), ...result.info },
          };
        },
        async dispose() {},
      };
    },
  };
}
