import type { TensorData } from '../engine/tensors.js';
import type { ModelSession } from '../engine/local-session.js';
import type { ModelManifest } from '../models/manifest.js';
import type { TileRect } from '../tiling/plan.js';
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
  /** Encoder features are kept per tile up to this many bytes, then recomputed at every step instead. */
  cacheBytes?: number;
}

/**
 * SRDiff (Li et al. 2022): an encoder turns the low-resolution image into features (at output size) and its bicubic
 * upsampling; the denoiser diffuses the residual between the high-resolution image and that upsampling. The encoder
 * runs once per tile (its outputs are cached within a memory budget), on the tile's low-resolution crop grown by a
 * margin so features at tile borders match those of the whole image.
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
  const names = {
    lr: inputName(manifest, 'lr'),
    featuresIn: inputName(manifest, 'lr_features'),
    featuresOut: outputName(manifest, 'lr_features'),
    upsampled: outputName(manifest, 'upsampled'),
  };
  const [low, high] = manifest.range;

  return async (condition, context) => {
    const source = new PaddedSource(condition, scale, margin);
    const features = new Map<number, Float32Array>();
    const baseWritten = new Set<number>();
    let cachedBytes = 0;
    let base: { data: Float32Array; height: number; width: number } | undefined;
    let featureChannels = 0;

    const encode = async (place: TileBatchPlace, tiles: readonly TileRect[]): Promise<Float32Array[]> => {
      const out = await encoder.run({ [names.lr]: source.crop({ ...place, tiles }) }, [names.featuresOut, names.upsampled]);
      const f = out[names.featuresOut]!;
      const up = out[names.upsampled]!;
      featureChannels = f.dims[1]!;
      const grownH = f.dims[2]!;
      const grownW = f.dims[3]!;
      const m = margin * scale;
      const { height: th, width: tw } = place;
      const perTile: Float32Array[] = [];
      const planeOf = (t: TensorData, i: number, c: number): number => ((i * t.dims[1]! + c) * grownH) * grownW;
      base ??= { data: new Float32Array(manifest.channels * place.plan.paddedHeight * place.plan.paddedWidth), height: place.plan.paddedHeight, width: place.plan.paddedWidth };
      tiles.forEach((rect, i) => {
        const tileFeatures = new Float32Array(featureChannels * th * tw);
        for (let c = 0; c < featureChannels; c++)
          for (let y = 0; y < th; y++) {
            const from = planeOf(f, i, c) + (y + m) * grownW + m;
            tileFeatures.set(f.data.subarray(from, from + tw), (c * th + y) * tw);
          }
        perTile.push(tileFeatures);
        if (!baseWritten.has(rect.index)) {
          baseWritten.add(rect.index);
          for (let c = 0; c < manifest.channels; c++)
            for (let y = 0; y < th; y++) {
              const from = planeOf(up, i, c) + (y + m) * grownW + m;
              base!.data.set(up.data.subarray(from, from + tw), (c * base!.height + rect.y + y) * base!.width + rect.x);
            }
        }
      });
      return perTile;
    };

    const conditioner: TileConditioner = {
      async inputsFor(place) {
        const missing = place.tiles.filter((t) => !features.has(t.index));
        const fresh = missing.length > 0 ? await encode(place, missing) : [];
        const byIndex = new Map(missing.map((t, i) => [t.index, fresh[i]!]));
        const perTile = featureChannels * place.height * place.width;
        const batch = new Float32Array(place.tiles.length * perTile);
        place.tiles.forEach((t, i) => {
          const tileFeatures = features.get(t.index) ?? byIndex.get(t.index)!;
          batch.set(tileFeatures, i * perTile);
          if (!features.has(t.index) && cachedBytes + tileFeatures.byteLength <= cacheBytes) {
            features.set(t.index, tileFeatures);
            cachedBytes += tileFeatures.byteLength;
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
