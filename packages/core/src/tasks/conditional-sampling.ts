import { DiffusekitError, invalidOption } from '../errors.js';
import { runSampler, type SamplerProgress, type SamplerStats } from '../diffusion/sampler-loop.js';
import type { NoiseOrigin } from '../diffusion/noise-field.js';
import type { KnownRegion } from '../diffusion/known-region.js';
import type { Scheduler } from '../diffusion/scheduler.js';
import type { ModelSession } from '../engine/local-session.js';
import type { TensorData } from '../engine/tensors.js';
import type { ModelManifest } from '../models/manifest.js';
import { reflectPad, type ChwShape } from '../tiling/pad.js';
import type { TilePlan, TileRect } from '../tiling/plan.js';

/** A CHW float32 image in the model's range. */
export interface ChwImage {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

export interface TileSettings {
  /** Tile side in output pixels. */
  tile: number;
  /** Minimum overlap between neighbouring tiles, in output pixels. */
  overlap: number;
  /** Tiles evaluated per engine call. */
  tilesPerCall: number;
}

/** Where a batch of tiles lies: the tile rects are in the padded output image of `plan`. */
export interface TileBatchPlace {
  plan: TilePlan;
  tiles: readonly TileRect[];
  height: number;
  width: number;
}

/** Supplies a model's conditioning inputs (by ONNX input name) for each batch of tiles. */
export interface TileConditioner {
  inputsFor(place: TileBatchPlace): Promise<Record<string, TensorData>>;
}

/** Everything a task's group sampler gets for one band group. */
export interface GroupSamplingContext {
  scheduler: Scheduler;
  tiling: TileSettings;
  seed: number;
  /** Output pixel of the image's top-left corner in the image it was cut from (see RunSamplerOptions.noiseOrigin). */
  noiseOrigin?: NoiseOrigin;
  signal?: AbortSignal;
  onProgress?: (event: SamplerProgress) => void;
  onStats?: (stats: SamplerStats) => void;
}

/** Turns one band group's conditioning image into the model's output image (CHW, model range). */
export type GroupSampler = (condition: ChwImage, context: GroupSamplingContext) => Promise<Float32Array>;

export function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

export function inputName(manifest: ModelManifest, role: string): string {
  const name = manifest.io.inputs[role];
  if (!name) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" has no "${role}" input; its inputs are ${Object.keys(manifest.io.inputs).join(', ')}`);
  }
  return name;
}

export function outputName(manifest: ModelManifest, role: string): string {
  const name = manifest.io.outputs[role];
  if (!name) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" has no "${role}" output; its outputs are ${Object.keys(manifest.io.outputs).join(', ')}`);
  }
  return name;
}

/**
 * Reflect-pads an image (once) to the padded output size divided by `scale`, and cuts per-tile crops from it, each
 * grown by `margin` source pixels on every side (read from the padded image, reflected again at its borders).
 */
export class PaddedSource {
  #padded: { data: Float32Array; shape: ChwShape } | undefined;

  constructor(
    readonly image: ChwImage,
    readonly scale: number,
    readonly margin = 0,
  ) {}

  padded(plan: TilePlan): { data: Float32Array; shape: ChwShape } {
    if (!this.#padded) {
      const { image, scale } = this;
      const height = plan.paddedHeight / scale;
      const width = plan.paddedWidth / scale;
      const source: ChwShape = { channels: image.channels, height: image.height, width: image.width };
      const data = height === image.height && width === image.width ? image.data : reflectPad(image.data, source, height, width);
      this.#padded = { data, shape: { channels: image.channels, height, width } };
    }
    return this.#padded;
  }

  crop(place: TileBatchPlace): TensorData {
    const padded = this.padded(place.plan);
    const { scale, margin } = this;
    const h = place.height / scale + 2 * margin;
    const w = place.width / scale + 2 * margin;
    const { channels: c, height: ph, width: pw } = padded.shape;
    const reflect = (i: number, n: number): number => {
      let j = i;
      while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
      return j;
    };
    const out = new Float32Array(place.tiles.length * c * h * w);
    let o = 0;
    for (const rect of place.tiles) {
      const x0 = rect.x / scale - margin;
      const y0 = rect.y / scale - margin;
      const inside = x0 >= 0 && y0 >= 0 && x0 + w <= pw && y0 + h <= ph;
      for (let ch = 0; ch < c; ch++) {
        const plane = ch * ph * pw;
        for (let y = 0; y < h; y++) {
          if (inside) {
            const row = plane + (y0 + y) * pw + x0;
            out.set(padded.data.subarray(row, row + w), o);
            o += w;
          } else {
            const row = plane + reflect(y0 + y, ph) * pw;
            for (let x = 0; x < w; x++) out[o++] = padded.data[row + reflect(x0 + x, pw)]!;
          }
        }
      }
    }
    return { data: out, dims: [place.tiles.length, c, h, w] };
  }
}

/** The condition image itself, cut per tile at the tile's position divided by `scale` (SR3's lr, Palette's cond). */
export function imageConditioner(image: ChwImage, input: string, scale: number): TileConditioner {
  const source = new PaddedSource(image, scale);
  return { inputsFor: async (place) => ({ [input]: source.crop(place) }) };
}

export interface ConditionalSamplingOptions extends GroupSamplingContext {
  session: ModelSession;
  manifest: ModelManifest;
  /** Output size (channels are the model's). */
  height: number;
  width: number;
  /** Output pixels per conditioning pixel: tile origins must fall on conditioning pixels. */
  scale: number;
  conditioner: TileConditioner;
  /** Inpainting: pixels kept from a given image (output size, model range); see runSampler. */
  known?: KnownRegion;
}

/**
 * Samples a conditional diffusion model over an image of any size through the one sampler loop: tiles share one noise
 * field and are fused at every step; the conditioner supplies each tile's conditioning inputs.
 */
export async function sampleConditional(options: ConditionalSamplingOptions): Promise<Float32Array> {
  const { manifest, scale, tiling } = options;
  if (!Number.isInteger(scale) || scale < 1) throw invalidOption('scale', 'a positive integer', scale);
  const names = { x: inputName(manifest, 'x'), level: inputName(manifest, 'noise_level'), out: outputName(manifest, 'out') };
  const shape: ChwShape = { channels: manifest.channels, height: options.height, width: options.width };
  // Tile origins and padded sizes must land on conditioning pixels as well as on the network's grid.
  const multipleOf = lcm(manifest.tile?.multipleOf ?? 1, scale);
  const longest = Math.ceil(Math.max(shape.height, shape.width) / multipleOf) * multipleOf;
  const tile = Math.min(Math.ceil(tiling.tile / multipleOf) * multipleOf, longest);
  const overlap = Math.min(Math.floor(tiling.overlap / multipleOf) * multipleOf, tile - multipleOf);

  return runSampler({
    scheduler: options.scheduler,
    shape,
    tiling: { tile, overlap, multipleOf, tilesPerCall: tiling.tilesPerCall },
    seed: options.seed,
    ...(options.noiseOrigin ? { noiseOrigin: options.noiseOrigin } : {}),
    noiseInput: manifest.diffusion.noiseInput,
    ...(options.known ? { known: options.known } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onStats ? { onStats: options.onStats } : {}),
    model: async (batch) => {
      const conditioning = await options.conditioner.inputsFor({ plan: batch.plan, tiles: batch.tiles, height: batch.height, width: batch.width });
      const outputs = await options.session.run(
        {
          [names.x]: { data: batch.x, dims: [batch.n, batch.channels, batch.height, batch.width] },
          [names.level]: { data: new Float32Array(batch.n).fill(batch.noiseLevel), dims: [batch.n] },
          ...conditioning,
        },
        [names.out],
      );
      return outputs[names.out]!.data;
    },
  });
}

/** The group sampler of models conditioned directly on an image (SR3 on `lr`, Palette on `cond`). */
export function imageConditionedSampler(session: ModelSession, manifest: ModelManifest, role: string, scale: number): GroupSampler {
  const input = inputName(manifest, role);
  return (condition, context) =>
    sampleConditional({
      ...context,
      session,
      manifest,
      height: condition.height * scale,
      width: condition.width * scale,
      scale,
      conditioner: imageConditioner(condition, input, scale),
    });
}
