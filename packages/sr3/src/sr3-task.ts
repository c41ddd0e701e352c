import { DiffusekitError, defineDiffusionImageTask, encoderResidualSampler, imageConditionedSampler, type ModelManifest } from '@diffusekit/core';

function scaleOf(manifest: ModelManifest): number {
  if (!manifest.scale || manifest.scale < 2) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" declares no scale factor (manifest field scale >= 2)`);
  }
  return manifest.scale;
}

/**
 * SR3 (Saharia et al. 2021): a UNet conditioned on the noise level and on the low-resolution image, which the ONNX
 * graph upsamples itself so that training and inference share one interpolation kernel.
 */
export const sr3Task = defineDiffusionImageTask({
  id: 'sr3',
  description: 'Super-resolution with an SR3 diffusion model (noise-level conditioned UNet on the low-resolution image)',
  defaultModel: 'sr3-x4',
  accepts: (m) => m.task === 'sr3',
  scaleOf,
  createSampler: async ({ engine, model }, scale) => imageConditionedSampler(await engine.openSession(model), model.manifest, 'lr', scale),
});

/**
 * SRDiff (Li et al. 2022): an encoder of the low-resolution image (run once per tile) and a denoiser of the residual
 * over the bicubic upsampling; two ONNX files, roles "encoder" and "denoiser".
 */
export const srdiffTask = defineDiffusionImageTask({
  id: 'srdiff',
  description: 'Super-resolution with SRDiff (LR encoder + diffusion of the residual over bicubic)',
  defaultModel: 'srdiff-x4',
  accepts: (m) => m.task === 'srdiff',
  scaleOf,
  createSampler: async ({ engine, model }, scale) =>
    encoderResidualSampler(await engine.openSession(model, 'encoder'), await engine.openSession(model, 'denoiser'), model.manifest, scale),
});
