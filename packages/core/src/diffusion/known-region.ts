import { invalidOption } from '../errors.js';
import { reflectPad, type ChwShape } from '../tiling/pad.js';

/**
 * Pixels whose values are given while the rest is generated (inpainting). After every step the sampler replaces them
 * by the given image noised to the level x has just reached, so the generated part keeps being steered by its
 * surroundings (RePaint, Lugmayr et al. 2022; the known part of Palette's inpainting); after the last step they hold
 * the given values exactly.
 */
export interface KnownRegion {
  /** CHW with the sampled shape, in the model's range; the values where `mask` is set are ignored. */
  image: Float32Array;
  /** height x width: non-zero where the sampler generates, 0 where `image` is kept. */
  mask: Uint8Array;
  /**
   * RePaint resampling: each step is taken this many times; between two tries x is noised back to the step's
   * starting level, which lets generated and known pixels agree better. Default 1 (no resampling).
   */
  resample?: number;
}

export const MAX_RESAMPLE = 50;

/** Realm-independent typed-array check (arrays made in a worker or vm context fail `instanceof`). */
const isArrayOf = (value: unknown, name: string): boolean =>
  ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === `[object ${name}]`;

/** A KnownRegion checked against the sampled shape and reflect-padded to the loop's padded image. */
export class KnownPixels {
  readonly resample: number;
  readonly #image: Float32Array;
  readonly #known: Uint8Array;
  readonly #plane: number;

  constructor(region: KnownRegion, shape: ChwShape, paddedHeight: number, paddedWidth: number) {
    const { channels, height, width } = shape;
    if (!isArrayOf(region.image, 'Float32Array') || region.image.length !== channels * height * width) {
      throw invalidOption('known.image', `a Float32Array of ${channels * height * width} values (channels x height x width)`, region.image);
    }
    if (!isArrayOf(region.mask, 'Uint8Array') || region.mask.length !== height * width) {
      throw invalidOption('known.mask', `a Uint8Array of ${height * width} values (height x width)`, region.mask);
    }
    const resample = region.resample ?? 1;
    if (!Number.isInteger(resample) || resample < 1 || resample > MAX_RESAMPLE) {
      throw invalidOption('known.resample', `an integer in [1, ${MAX_RESAMPLE}]`, resample);
    }
    this.resample = resample;
    this.#plane = paddedHeight * paddedWidth;
    this.#image = reflectPad(region.image, shape, paddedHeight, paddedWidth);
    const generated = reflectPad(Float32Array.from(region.mask, (m) => (m === 0 ? 0 : 1)), { channels: 1, height, width }, paddedHeight, paddedWidth);
    this.#known = Uint8Array.from(generated, (g) => (g === 0 ? 1 : 0));
  }

  /**
   * Sets the known pixels of the padded CHW `x` to sqrt(alphaBar) * image + sqrt(1 - alphaBar) * noise; with
   * alphaBar 1 (clean data) to the image itself, and `noise` may then be omitted.
   */
  impose(x: Float32Array, alphaBar: number, noise?: Float32Array): void {
    const signal = Math.sqrt(alphaBar);
    const sigma = Math.sqrt(1 - alphaBar);
    const known = this.#known;
    const image = this.#image;
    const plane = this.#plane;
    for (let offset = 0; offset < x.length; offset += plane) {
      for (let i = 0; i < plane; i++) {
        if (known[i] === 0) continue;
        const j = offset + i;
        x[j] = sigma === 0 ? image[j]! : signal * image[j]! + sigma * noise![j]!;
      }
    }
  }
}

/** Noises x from level fromAlphaBar back up to the noisier toAlphaBar: q(x_to | x_from) of the forward process. */
export function renoise(x: Float32Array, fromAlphaBar: number, toAlphaBar: number, noise: Float32Array): void {
  const ratio = toAlphaBar / fromAlphaBar;
  const keep = Math.sqrt(ratio);
  const add = Math.sqrt(1 - ratio);
  for (let i = 0; i < x.length; i++) x[i] = keep * x[i]! + add * noise[i]!;
}
