import { diffuseRaster, schedulerForModel, type ImageTaskResult, type Raster, type TaskDefinition } from '@diffusekit/core';
import { RESTORE_OPTIONS, parseRestoreOptions, type RestoreOptions } from './options.js';

const DEFAULT_TILE = 128;

/**
 * JPEG artifact removal with a Palette-style conditional diffusion model (Saharia et al. 2022): the decoded JPEG is
 * the condition and the output has the input's size, bit depth and bands. Any image is accepted; when it was decoded
 * from a JPEG the quality factor estimated from its quantisation tables is reported.
 */
export const paletteJpegTask: TaskDefinition<Raster, RestoreOptions, ImageTaskResult> = {
  id: 'palette-jpeg',
  kind: 'image-to-image',
  description: 'JPEG artifact removal with a Palette-style conditional diffusion model',
  defaultModel: 'palette-jpeg',
  options: RESTORE_OPTIONS,
  accepts: (m) => m.task === 'palette-jpeg',
  parseOptions: parseRestoreOptions,
  async load({ engine, model }) {
    const manifest = model.manifest;
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
          conditionRole: 'cond',
          scale: 1,
          tiling: { tile, overlap: options.overlap ?? Math.floor(tile / 4), tilesPerCall: options.tilesPerCall },
          seed: options.seed,
          ...(options.bands ? { bands: options.bands } : {}),
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.onProgress ? { onProgress: runOptions.onProgress } : {}),
        });
        return {
          raster: result.raster,
          info: { model: manifest.id, jpegQuality: raster.sourceQuality ?? null, ...result.info },
        };
      },
      async dispose() {},
    };
  },
};
