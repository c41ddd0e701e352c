import {
  DiffusekitError,
  diffuseRaster,
  schedulerForModel,
  type ImageTaskResult,
  type ModelManifest,
  type Raster,
  type TaskDefinition,
} from '@diffusekit/core';
import { UPSCALE_OPTIONS, parseUpscaleOptions, type UpscaleOptions } from './options.js';

const DEFAULT_TILE = 128;

/**
 * SR3 (Saharia et al. 2021): a UNet conditioned on the noise level and on the low-resolution image, which the ONNX
 * graph upsamples itself so that training and inference share one interpolation kernel.
 */
export const sr3Task: TaskDefinition<Raster, UpscaleOptions, ImageTaskResult> = {
  id: 'sr3',
  kind: 'image-to-image',
  description: 'Super-resolution with an SR3 diffusion model (noise-level conditioned UNet on the low-resolution image)',
  defaultModel: 'sr3-x4',
  options: UPSCALE_OPTIONS,
  accepts: (m: ModelManifest) => m.task === 'sr3',
  parseOptions: parseUpscaleOptions,
  async load({ engine, model }) {
    const manifest = model.manifest;
    if (!manifest.scale || manifest.scale < 2) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" declares no scale factor (manifest field scale >= 2)`);
    }
    const session = await engine.openSession(model);
    return {
      model: manifest,
      async run(raster, options, runOptions = {}) {
        const scheduler = schedulerForModel(manifest, {
          ...(options.sampler ? { sampler: options.sampler } : {}),
          ...(options.steps ? { steps: options.steps } : {}),
          ...(options.eta !== undefined ? { eta: options.eta } : {}),
        });
        const tile = options.tile ?? manifest.tile?.size ?? DEFAULT_TILE;
        runOptions.onProgress?.({ kind: 'stage', stage: 'infer' });
        const result = await diffuseRaster({
          raster,
          manifest,
          session,
          scheduler,
          conditionRole: 'lr',
          scale: manifest.scale!,
          tiling: { tile, overlap: options.overlap ?? Math.floor(tile / 4), tilesPerCall: options.tilesPerCall },
          seed: options.seed,
          ...(options.bands ? { bands: options.bands } : {}),
          ...(options.stretch ? { stretch: { kind: options.stretch } as never } : {}),
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.onProgress ? { onProgress: runOptions.onProgress } : {}),
        });
        return { raster: result.raster, info: { model: manifest.id, scale: manifest.scale, ...result.info } };
      },
      async dispose() {},
    };
  },
};
