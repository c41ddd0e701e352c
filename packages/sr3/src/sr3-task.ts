import { DiffusekitError, defineDiffusionImageTask } from '@diffusekit/core';

/**
 * SR3 (Saharia et al. 2021): a UNet conditioned on the noise level and on the low-resolution image, which the ONNX
 * graph upsamples itself so that training and inference share one interpolation kernel.
 */
export const sr3Task = defineDiffusionImageTask({
  id: 'sr3',
  description: 'Super-resolution with an SR3 diffusion model (noise-level conditioned UNet on the low-resolution image)',
  defaultModel: 'sr3-x4',
  accepts: (m) => m.task === 'sr3',
  conditionRole: 'lr',
  scaleOf(manifest) {
    if (!manifest.scale || manifest.scale < 2) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" declares no scale factor (manifest field scale >= 2)`);
    }
    return manifest.scale;
  },
});
