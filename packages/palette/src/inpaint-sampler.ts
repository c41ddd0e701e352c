import {
  PaddedSource,
  inputName,
  sampleConditional,
  type GroupSampler,
  type ModelManifest,
  type ModelSession,
} from '@diffusekit/core';

/**
 * The group sampler of a Palette inpainting model: every tile gets its crop of the image (`cond`; the graph blanks
 * the hole itself) and of the mask (`mask`, 1 = fill), and the sampler loop re-imposes the known pixels, noised to
 * each step's level, on the whole image after every step (with `resample` RePaint tries per step).
 */
export function maskedImageSampler(session: ModelSession, manifest: ModelManifest, mask: Uint8Array, resample: number): GroupSampler {
  const names = { cond: inputName(manifest, 'cond'), mask: inputName(manifest, 'mask') };
  return (condition, context) => {
    const { height, width } = condition;
    const image = new PaddedSource(condition, 1);
    const holes = new PaddedSource({ data: Float32Array.from(mask), channels: 1, height, width }, 1);
    return sampleConditional({
      ...context,
      session,
      manifest,
      height,
      width,
      scale: 1,
      conditioner: { inputsFor: async (place) => ({ [names.cond]: image.crop(place), [names.mask]: holes.crop(place) }) },
      known: { image: condition.data, mask, resample },
    });
  };
}
