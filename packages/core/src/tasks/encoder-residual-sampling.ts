import type { TensorData } from '../engine/tensors.js';
import type { ModelSession } from '../engine/local-session.js';
import type { ModelManifest } from '../models/manifest.js';
import type { TilePlan, TileRect } from '../tiling/plan.js';
import {
  PaddedSource,
  inputName,
  outputName,
  sampleConditional,
  type GroupSampler,
  type TileBatchPlace,
  type TileConditioner,
} from './conditional-sampling.js';

export interface EncoderResidualOptions {
  /**
   * Low-resolution pixels of context around each tile fed to the encoder, so tile borders see real neighbours.
   * Default: the manifest's tile.contextMargin (the encoder's receptive radius), else 8.
   */
  margin?: number;
  /**
   * Encoder features held at once, in bytes: those of tiles encoded ahead of their turn (see blockSize) and, when the
   * sampler takes more than one step, those kept for later steps. Beyond it a tile is encoded on its own when it is
   * needed, at every step.
   */
  cacheBytes?: number;
  /**
   * Largest side, in output pixels, of the groups of neighbouring tiles the encoder runs on in one call (default 512):
   * the group's context margin and the overlaps between its tiles are encoded once instead of once per tile. The
   * tiles' features are the same either way (the margin covers the encoder's receptive field); only the work differs.
   */
  blockSize?: number;
}

/** A rectangle of neighbouring tiles (padded output pixels) that the encoder runs on in one call. */
interface EncoderBlock {
  x: number;
  y: number;
  width: number;
  height: number;
  tiles: TileRect[];
}

/** Consecutive origins along one axis grouped so that each group's tiles span at most `limit` pixels (at least one). */
function groupStarts(starts: readonly number[], tile: number, limit: number): number[][] {
  const groups: number[][] = [];
  starts.forEach((start, i) => {
    const group = groups[groups.length - 1];
    if (group && start + tile - starts[group[0]!]! <= limit) group.push(i);
    else groups.push([i]);
  });
  return groups;
}

/** Every tile's encoder block: the plan's tile grid cut into rectangles at most `limit` pixels on a side. */
function encoderBlocks(plan: TilePlan, limit: number): Map<number, EncoderBlock> {
  const byTile = new Map<number, EncoderBlock>();
  for (const rows of groupStarts(plan.yStarts, plan.tileHeight, limit))
    for (const cols of groupStarts(plan.xStarts, plan.tileWidth, limit)) {
      const x = plan.xStarts[cols[0]!]!;
      const y = plan.yStarts[rows[0]!]!;
      const tiles = rows.flatMap((row) => cols.map((col) => plan.tiles[row * plan.columns + col]!));
      const block: EncoderBlock = { x, y, width: plan.xStarts[cols[cols.length - 1]!]! + plan.tileWidth - x, height: plan.yStarts[rows[rows.length - 1]!]! + plan.tileHeight - y, tiles };
      for (const tile of tiles) byTile.set(tile.index, block);
    }
  return byTile;
}

/**
 * SRDiff (Li et al. 2022): an encoder turns the low-resolution image into features (at output size) and its bicubic
 * upsampling; the denoiser diffuses the residual between the high-resolution image and that upsampling. The encoder
 * runs on blocks of neighbouring tiles, on the block's low-resolution crop grown by a margin so features at its
 * borders match those of the whole image, and each tile's features are cut from its block's.
 */
export function encoderResidualSampler(
  encoder: ModelSession,
  denoiser: ModelSession,
  manifest: ModelManifest,
  scale: number,
  options: EncoderResidualOptions = {},
): GroupSampler {
  const margin = options.margin ?? manifest.tile?.contextMargin ?? 8;
  const cacheBytes = options.cacheBytes ?? 512 * 2 ** 20;
  const blockSize = options.blockSize ?? 512;
  const names = {
    lr: inputName(manifest, 'lr'),
    featuresIn: inputName(manifest, 'lr_features'),
    featuresOut: outputName(manifest, 'lr_features'),
    upsampled: outputName(manifest, 'upsampled'),
  };
  const [low, high] = manifest.range;

  return async (condition, context) => {
    const source = new PaddedSource(condition, scale, margin);
    // Features of tiles encoded ahead of their turn, and (when there are later steps) of tiles already used.
    const features = new Map<number, Float32Array>();
    const ahead = new Set<number>();
    const reuse = context.scheduler.timesteps.length > 1;
    const baseWritten = new Set<number>();
    let heldBytes = 0;
    let blocks: Map<number, EncoderBlock> | undefined;
    let base: { data: Float32Array; height: number; width: number } | undefined;
    let featureChannels = 0;

    /** Encodes same-sized regions in one call; returns each listed tile's features, cut from its region's. */
    const encode = async (plan: TilePlan, regions: readonly EncoderBlock[]): Promise<Map<number, Float32Array>> => {
      const { height: rh, width: rw } = regions[0]!;
      const out = await encoder.run({ [names.lr]: source.crop({ plan, tiles: regions.map((r) => ({ ...r.tiles[0]!, x: r.x, y: r.y })), height: rh, width: rw }) }, [names.featuresOut, names.upsampled]);
      const f = out[names.featuresOut]!;
      const up = out[names.upsampled]!;
      featureChannels = f.dims[1]!;
      const grownH = f.dims[2]!;
      const grownW = f.dims[3]!;
      const m = margin * scale;
      const { tileHeight: th, tileWidth: tw } = plan;
      const planeOf = (t: TensorData, i: number, c: number): number => ((i * t.dims[1]! + c) * grownH) * grownW;
      base ??= { data: new Float32Array(manifest.channels * plan.paddedHeight * plan.paddedWidth), height: plan.paddedHeight, width: plan.paddedWidth };
      const perTile = new Map<number, Float32Array>();
      regions.forEach((region, i) => {
        for (const rect of region.tiles) {
          const top = rect.y - region.y + m;
          const left = rect.x - region.x + m;
          const tileFeatures = new Float32Array(featureChannels * th * tw);
          for (let c = 0; c < featureChannels; c++)
            for (let y = 0; y < th; y++) {
              const from = planeOf(f, i, c) + (top + y) * grownW + left;
              tileFeatures.set(f.data.subarray(from, from + tw), (c * th + y) * tw);
            }
          perTile.set(rect.index, tileFeatures);
          if (baseWritten.has(rect.index)) continue;
          baseWritten.add(rect.index);
          for (let c = 0; c < manifest.channels; c++)
            for (let y = 0; y < th; y++) {
              const from = planeOf(up, i, c) + (top + y) * grownW + left;
              base!.data.set(up.data.subarray(from, from + tw), (c * base!.height + rect.y + y) * base!.width + rect.x);
            }
        }
      });
      return perTile;
    };

    /** Encodes the blocks of missing tiles whose block is untouched and fits the budget; their other tiles wait. */
    const encodeAhead = async (plan: TilePlan, missing: readonly TileRect[]): Promise<void> => {
      blocks ??= encoderBlocks(plan, blockSize);
      for (const tile of missing) {
        const block = blocks.get(tile.index)!;
        if (block.tiles.length === 1 || block.tiles.some((t) => baseWritten.has(t.index))) continue;
        const bytes = block.tiles.length * featureChannels * plan.tileHeight * plan.tileWidth * 4;
        if (featureChannels > 0 && heldBytes + bytes > cacheBytes) continue;
        for (const [index, tileFeatures] of await encode(plan, [block])) {
          features.set(index, tileFeatures);
          ahead.add(index);
          heldBytes += tileFeatures.byteLength;
        }
      }
    };

    const conditioner: TileConditioner = {
      async inputsFor(place) {
        const { plan } = place;
        await encodeAhead(plan, place.tiles.filter((t) => !features.has(t.index)));
        const alone = place.tiles.filter((t) => !features.has(t.index));
        const fresh = alone.length > 0 ? await encode(plan, alone.map((t) => ({ x: t.x, y: t.y, width: t.width, height: t.height, tiles: [t] }))) : new Map<number, Float32Array>();
        const perTile = featureChannels * place.height * place.width;
        const batch = new Float32Array(place.tiles.length * perTile);
        place.tiles.forEach((t, i) => {
          const tileFeatures = features.get(t.index) ?? fresh.get(t.index)!;
          batch.set(tileFeatures, i * perTile);
          if (ahead.delete(t.index) && !reuse) {
            features.delete(t.index);
            heldBytes -= tileFeatures.byteLength;
          } else if (reuse && !features.has(t.index) && heldBytes + tileFeatures.byteLength <= cacheBytes) {
            features.set(t.index, tileFeatures);
            heldBytes += tileFeatures.byteLength;
          }
        });
        return { [names.featuresIn]: { data: batch, dims: [place.tiles.length, featureChannels, place.height, place.width] } };
      },
    };

    const height = condition.height * scale;
    const width = condition.width * scale;
    const residual = await sampleConditional({ ...context, session: denoiser, manifest, height, width, scale, conditioner });
    const out = new Float32Array(residual.length);
    for (let c = 0; c < manifest.channels; c++)
      for (let y = 0; y < height; y++) {
        const row = (c * height + y) * width;
        const baseRow = (c * base!.height + y) * base!.width;
        for (let x = 0; x < width; x++) out[row + x] = Math.min(high, Math.max(low, base!.data[baseRow + x]! + residual[row + x]!));
      }
    return out;
  };
}
