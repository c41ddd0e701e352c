import { DiffusekitError, invalidOption } from '../errors.js';
import { runSampler, type SamplerProgress, type SamplerStats } from '../diffusion/sampler-loop.js';
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

export interface ConditionalSamplingOptions {
  session: ModelSession;
  manifest: ModelManifest;
  scheduler: Scheduler;
  /** The conditioning image (low-resolution image for SR, degraded image for restoration). */
  condition: ChwImage;
  /** Input role the condition is fed to ('lr' or 'cond'). */
  conditionRole: string;
  /** Output pixels per condition pixel along each axis (the SR factor; 1 for restoration). */
  scale: number;
  tiling: TileSettings;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (event: SamplerProgress) => void;
  onStats?: (stats: SamplerStats) => void;
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

function inputName(manifest: ModelManifest, role: string): string {
  const name = manifest.io.inputs[role];
  if (!name) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" has no "${role}" input; its inputs are ${Object.keys(manifest.io.inputs).join(', ')}`);
  }
  return name;
}

/**
 * Samples a conditional diffusion model over an image of any size through the one sampler loop: tiles share one noise
 * field and are fused at every step; each tile's conditioning is cut from the (reflect-padded) condition image at the
 * tile's position divided by `scale`.
 */
export async function sampleConditional(options: ConditionalSamplingOptions): Promise<Float32Array> {
  const { manifest, condition, scale, tiling } = options;
  if (!Number.isInteger(scale) || scale < 1) throw invalidOption('scale', 'a positive integer', scale);
  const names = {
    x: inputName(manifest, 'x'),
    level: inputName(manifest, 'noise_level'),
    cond: inputName(manifest, options.conditionRole),
    out: manifest.io.outputs.out ?? Object.values(manifest.io.outputs)[0]!,
  };
  const shape: ChwShape = { channels: manifest.channels, height: condition.height * scale, width: condition.width * scale };
  // Tile origins and padded sizes must land on condition pixels as well as on the network's grid.
  const multipleOf = lcm(manifest.tile?.multipleOf ?? 1, scale);
  const longest = Math.ceil(Math.max(shape.height, shape.width) / multipleOf) * multipleOf;
  const tile = Math.min(Math.ceil(tiling.tile / multipleOf) * multipleOf, longest);
  const overlap = Math.min(Math.floor(tiling.overlap / multipleOf) * multipleOf, tile - multipleOf);

  let paddedCondition: { data: Float32Array; shape: ChwShape } | undefined;
  const padFor = (plan: TilePlan): { data: Float32Array; shape: ChwShape } => {
    if (!paddedCondition) {
      const height = plan.paddedHeight / scale;
      const width = plan.paddedWidth / scale;
      const source: ChwShape = { channels: condition.channels, height: condition.height, width: condition.width };
      const data = height === condition.height && width === condition.width ? condition.data : reflectPad(condition.data, source, height, width);
      paddedCondition = { data, shape: { channels: condition.channels, height, width } };
    }
    return paddedCondition;
  };

  const cropConditions = (plan: TilePlan, rects: readonly TileRect[], tileHeight: number, tileWidth: number): TensorData => {
    const padded = padFor(plan);
    const h = tileHeight / scale;
    const w = tileWidth / scale;
    const c = padded.shape.channels;
    const out = new Float32Array(rects.length * c * h * w);
    let o = 0;
    for (const rect of rects) {
      const x0 = rect.x / scale;
      const y0 = rect.y / scale;
      for (let ch = 0; ch < c; ch++) {
        const plane = ch * padded.shape.height * padded.shape.width;
        for (let y = 0; y < h; y++) {
          const row = plane + (y0 + y) * padded.shape.width + x0;
          out.set(padded.data.subarray(row, row + w), o);
          o += w;
        }
      }
    }
    return { data: out, dims: [rects.length, c, h, w] };
  };

  return runSampler({
    scheduler: options.scheduler,
    shape,
    tiling: { tile, overlap, multipleOf, tilesPerCall: tiling.tilesPerCall },
    seed: options.seed,
    noiseInput: manifest.diffusion.noiseInput,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onStats ? { onStats: options.onStats } : {}),
    model: async (batch) => {
      const outputs = await options.session.run(
        {
          [names.x]: { data: batch.x, dims: [batch.n, batch.channels, batch.height, batch.width] },
          [names.level]: { data: new Float32Array(batch.n).fill(batch.noiseLevel), dims: [batch.n] },
          [names.cond]: cropConditions(batch.plan, batch.tiles, batch.height, batch.width),
        },
        [names.out],
      );
      return outputs[names.out]!.data;
    },
  });
}
