import {
  DIFFUSION_IMAGE_OPTIONS,
  DiffusekitError,
  MAX_RESAMPLE,
  parseDiffusionImageOptions,
  parseTaskOptions,
  planBandGroups,
  runDiffusionImage,
  type DiffusionImageOptions,
  type ImageTaskResult,
  type Raster,
  type TaskDefinition,
  type TaskOptionSpec,
} from '@diffusekit/core';
import { binariseMask } from './inpaint-mask.js';
import { maskedImageSampler } from './inpaint-sampler.js';

/** What palette-inpaint fills: `image` where `mask` is white (see binariseMask for any other mask). */
export interface InpaintInput {
  image: Raster;
  mask: Raster;
}

export interface InpaintOptions extends DiffusionImageOptions {
  /** RePaint resampling: tries per step (1 = none). */
  resample: number;
}

const INPAINT_OPTIONS: readonly TaskOptionSpec[] = [
  ...DIFFUSION_IMAGE_OPTIONS,
  { name: 'resample', type: 'integer', min: 1, max: MAX_RESAMPLE, default: 1, description: 'RePaint resampling: tries per step for a more coherent fill (1 = none; cost grows in proportion)' },
];

function parseInpaintOptions(raw: unknown): InpaintOptions {
  const { resample } = parseTaskOptions(raw, INPAINT_OPTIONS); // validates every option, resample included
  const { resample: _resample, ...shared } = (raw ?? {}) as Record<string, unknown>;
  return { ...parseDiffusionImageOptions(shared), resample: resample as number };
}

/** Copies every known pixel of the input into the output, band by band, so they come back bit for bit. */
function keepKnownPixels(input: Raster, output: Raster, mask: Uint8Array, sourceOfOutput: readonly number[]): void {
  const pixels = input.width * input.height;
  sourceOfOutput.forEach((source, band) => {
    const from = source * pixels;
    const to = band * pixels;
    for (let i = 0; i < pixels; i++) if (mask[i] === 0) output.data[to + i] = input.data[from + i]!;
  });
}

/**
 * Inpainting with a Palette-style conditional diffusion model (Saharia et al. 2022): the pixels under the white part
 * of the mask are generated from their surroundings, every other pixel is returned exactly as it was. The known
 * pixels are re-imposed from the noised original at every step (RePaint), over the whole image, so tiles agree.
 */
export const paletteInpaintTask: TaskDefinition<InpaintInput, InpaintOptions, ImageTaskResult> = {
  id: 'palette-inpaint',
  kind: 'custom',
  description: 'Inpainting (fill the white part of a mask) with a Palette-style conditional diffusion model',
  defaultModel: 'palette-inpaint',
  accepts: (m) => m.task === 'palette-inpaint',
  options: INPAINT_OPTIONS,
  parseOptions: parseInpaintOptions,
  async load({ engine, model }) {
    const manifest = model.manifest;
    const session = await engine.openSession(model);
    return {
      model: manifest,
      async run(input, options, runOptions = {}) {
        const image = input?.image;
        if (image === undefined) throw new DiffusekitError('INVALID_ARGUMENT', 'Expected { image, mask } rasters for palette-inpaint but received no image');
        const mask = binariseMask(input?.mask, image);
        const sampleGroup = maskedImageSampler(session, manifest, mask, options.resample);
        const result = await runDiffusionImage({ raster: image, manifest, sampleGroup, scale: 1, options, runOptions });
        keepKnownPixels(image, result.raster, mask, planBandGroups(image, manifest.channels, options.bands).sourceOfOutput);
        let holes = 0;
        for (const m of mask) holes += m;
        return {
          raster: result.raster,
          info: { model: manifest.id, filledPixels: holes, filledFraction: holes / mask.length, resample: options.resample, ...result.info },
        };
      },
      async dispose() {},
    };
  },
};
