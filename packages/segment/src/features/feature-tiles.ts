import {
  createRng,
  extractTile,
  fillNoiseField,
  invalidOption,
  planTiles,
  reflectPad,
  throwIfAborted,
  type ChwShape,
  type Rect,
  type TilePlan,
} from '@diffusekit/core';
import type { FeatureBackbone } from './backbone.js';
import { sampleBilinear, type FeatureMap } from './bilinear.js';

/** An image as a CHW float32 tensor in the backbone's range. */
export interface ModelImage extends ChwShape {
  readonly data: Float32Array;
}

export interface FeatureTilingOptions {
  /** Seed of the one noise field that every timestep and tile shares (stored with a trained ensemble). */
  seed: number;
  /** Tile side in pixels (default 256, rounded up to the backbone's multiple). */
  tile?: number;
  /** Overlap between tiles (default a quarter tile): pixels near a tile edge take their features from a neighbour. */
  overlap?: number;
  signal?: AbortSignal;
  /** Skips the backbone for tiles whose owned rectangle holds nothing the caller needs. */
  needed?: (owned: Rect) => boolean;
  onTile?: (tile: number, of: number) => void;
}

/** One feature output of the backbone over a whole tile, every timestep stacked: [timesteps, channels, height, width]. */
export interface TileOutputMaps {
  readonly data: Float32Array;
  readonly timesteps: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly stride: number;
}

/** The features of the pixels that one tile owns. */
export interface FeatureTile {
  readonly owned: Rect;
  /** The tile in image coordinates (it may reach into the reflect padding beyond the image). */
  readonly rect: Rect;
  /** The decoder maps of the whole tile, one entry per feature output. */
  readonly outputs: readonly TileOutputMaps[];
  /** Writes the feature vectors of pixels (xs[i], ys[i]) (image coordinates inside `owned`) into rows of `out`. */
  sample(xs: ArrayLike<number>, ys: ArrayLike<number>, out: Float32Array): void;
}

export const DEFAULT_FEATURE_TILE = 256;

/**
 * Where each tile's responsibility starts and ends along one axis: overlaps are split at their middle, so every
 * pixel is owned by exactly one tile and lies as far as possible from that tile's padded edges.
 */
function ownedSpans(starts: readonly number[], tile: number, length: number): [number, number][] {
  return starts.map((start, i) => {
    const lo = i === 0 ? 0 : Math.ceil((start + starts[i - 1]! + tile) / 2);
    const hi = i === starts.length - 1 ? length : Math.ceil((starts[i + 1]! + start + tile) / 2);
    return [Math.min(lo, length), Math.min(hi, length)];
  });
}

export function featureTilePlan(backbone: FeatureBackbone, width: number, height: number, options: Pick<FeatureTilingOptions, 'tile' | 'overlap'>): TilePlan {
  const multiple = backbone.multipleOf;
  const requested = options.tile ?? DEFAULT_FEATURE_TILE;
  if (!Number.isInteger(requested) || requested < multiple) throw invalidOption('tile', `an integer ≥ ${multiple}`, requested);
  // Never pad a small image up to a big tile: a tile larger than the (rounded-up) image only costs time.
  const fit = Math.ceil(Math.max(width, height) / multiple) * multiple;
  const tile = Math.min(Math.ceil(requested / multiple) * multiple, fit);
  const overlap = options.overlap ?? Math.floor(tile / 4 / multiple) * multiple;
  return planTiles({ width, height, tile, overlap: Math.min(overlap, tile - multiple), multipleOf: multiple });
}

/**
 * Runs the backbone over the image tile by tile: noises each tile to every feature timestep with one shared noise
 * field (batched: one network call per tile), and yields the tile's decoder maps as a sampler of per-pixel features.
 * Memory is bounded by one tile's maps, never the whole image's feature stack.
 */
export async function* featureTiles(backbone: FeatureBackbone, image: ModelImage, options: FeatureTilingOptions): AsyncGenerator<FeatureTile> {
  if (image.channels !== backbone.channels) {
    throw invalidOption('image', `a ${backbone.channels}-channel tensor for backbone "${backbone.id}"`, `${image.channels} channels`);
  }
  const plan = featureTilePlan(backbone, image.width, image.height, options);
  const { paddedWidth, paddedHeight, tileWidth, tileHeight } = plan;
  const shape: ChwShape = { channels: image.channels, height: image.height, width: image.width };
  const padded = reflectPad(image.data, shape, paddedHeight, paddedWidth);
  const noise = fillNoiseField(createRng(options.seed), shape, paddedHeight, paddedWidth, new Float32Array(padded.length));
  const paddedShape: ChwShape = { channels: image.channels, height: paddedHeight, width: paddedWidth };
  const xSpans = ownedSpans(plan.xStarts, tileWidth, image.width);
  const ySpans = ownedSpans(plan.yStarts, tileHeight, image.height);
  const timesteps = backbone.timesteps.length;
  const tileSize = image.channels * tileHeight * tileWidth;
  const x0 = new Float32Array(tileSize);
  const tileNoise = new Float32Array(tileSize);
  const batch = new Float32Array(timesteps * tileSize);
  const names = backbone.outputs.map((o) => o.name);

  for (const rect of plan.tiles) {
    throwIfAborted(options.signal);
    const [x0Owned, x1Owned] = xSpans[rect.col]!;
    const [y0Owned, y1Owned] = ySpans[rect.row]!;
    const owned: Rect = { x: x0Owned, y: y0Owned, width: x1Owned - x0Owned, height: y1Owned - y0Owned };
    options.onTile?.(rect.index + 1, plan.tiles.length);
    if (owned.width <= 0 || owned.height <= 0 || (options.needed && !options.needed(owned))) continue;

    extractTile(padded, paddedShape, rect, x0);
    extractTile(noise, paddedShape, rect, tileNoise);
    for (let k = 0; k < timesteps; k++) {
      const a = backbone.signalScale[k]!;
      const b = backbone.noiseScale[k]!;
      const offset = k * tileSize;
      for (let i = 0; i < tileSize; i++) batch[offset + i] = a * x0[i]! + b * tileNoise[i]!;
    }
    const results = await backbone.session.run(
      {
        [backbone.inputName]: { data: batch, dims: [timesteps, image.channels, tileHeight, tileWidth] },
        [backbone.noiseLevelName]: { data: backbone.noiseLevels, dims: [timesteps] },
      },
      names,
    );
    const maps: FeatureMap[] = [];
    for (let k = 0; k < timesteps; k++) {
      for (const output of backbone.outputs) {
        const { data, dims } = results[output.name]!;
        const [, channels, height, width] = dims as [number, number, number, number];
        const size = channels * height * width;
        maps.push({ data: data.subarray(k * size, (k + 1) * size), channels, height, width, stride: output.stride });
      }
    }
    const outputs = backbone.outputs.map((output): TileOutputMaps => {
      const { data, dims } = results[output.name]!;
      const [, channels, height, width] = dims as [number, number, number, number];
      return { data, timesteps, channels, height, width, stride: output.stride };
    });
    yield {
      owned,
      rect: { x: rect.x, y: rect.y, width: rect.width, height: rect.height },
      outputs,
      sample(xs, ys, out) {
        const n = xs.length;
        const localX = new Int32Array(n);
        const localY = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          localX[i] = xs[i]! - rect.x;
          localY[i] = ys[i]! - rect.y;
        }
        let column = 0;
        for (const map of maps) {
          sampleBilinear(map, localX, localY, out, backbone.dim, column);
          column += map.channels;
        }
      },
    };
  }
}

/**
 * The feature vectors of chosen pixels ([count, dim], row i for pixel i). Tiles that own none of them are never
 * run, so sparse labels cost little.
 */
export async function pixelFeatures(
  backbone: FeatureBackbone,
  image: ModelImage,
  xs: Int32Array,
  ys: Int32Array,
  options: FeatureTilingOptions,
): Promise<Float32Array> {
  const out = new Float32Array(xs.length * backbone.dim);
  const inside = (i: number, r: Rect): boolean => xs[i]! >= r.x && xs[i]! < r.x + r.width && ys[i]! >= r.y && ys[i]! < r.y + r.height;
  const needed = (r: Rect): boolean => {
    for (let i = 0; i < xs.length; i++) if (inside(i, r)) return true;
    return false;
  };
  for await (const tile of featureTiles(backbone, image, { ...options, needed })) {
    const rows: number[] = [];
    for (let i = 0; i < xs.length; i++) if (inside(i, tile.owned)) rows.push(i);
    const scratch = new Float32Array(rows.length * backbone.dim);
    tile.sample(Int32Array.from(rows, (i) => xs[i]!), Int32Array.from(rows, (i) => ys[i]!), scratch);
    rows.forEach((row, j) => out.set(scratch.subarray(j * backbone.dim, (j + 1) * backbone.dim), row * backbone.dim));
  }
  return out;
}
