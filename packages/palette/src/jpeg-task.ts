import { defineDiffusionImageTask, imageConditionedSampler } from '@diffusekit/core';

/**
 * JPEG artifact removal with a Palette-style conditional diffusion model (Saharia et al. 2022): the decoded JPEG is
 * the condition and the output has the input's size, bit depth and bands. Any image is accepted; when it was decoded
 * from a JPEG, the quality factor estimated from its quantisation tables is reported.
 */
export const paletteJpegTask = defineDiffusionImageTask({
  id: 'palette-jpeg',
  description: 'JPEG artifact removal with a Palette-style conditional diffusion model',
  defaultModel: 'palette-jpeg',
  accepts: (m) => m.task === 'palette-jpeg',
  scaleOf: () => 1,
  createSampler: async ({ engine, model }) => imageConditionedSampler(await engine.openSession(model), model.manifest, 'cond', 1),
  describeInput: (raster) => ({ jpegQuality: raster.sourceQuality ?? null }),
});
