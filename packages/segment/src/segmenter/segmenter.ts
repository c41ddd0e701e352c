import { DiffusekitError, nodataMask, throwIfAborted, type Engine, type ModelCatalog, type Progress, type Raster } from '@diffusekit/core';
import { IGNORE_INDEX, type EnsembleManifest } from '../ensemble/ensemble-manifest.js';
import { loadEnsemble } from '../ensemble/ensemble-store.js';
import { openFeatureBackbone, type FeatureBackbone } from '../features/backbone.js';
import { featureTiles } from '../features/feature-tiles.js';
import type { EnsembleWeights } from '../mlp/ensemble-weights.js';
import { voteEnsemble } from '../mlp/ensemble-vote.js';
import { EnsembleClassifier } from '../mlp/predict-ensemble.js';
import { backboneInput } from './backbone-input.js';

export interface SegmentOptions {
  /** Tile side for the backbone (default 256). */
  tile?: number;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

/** A segmentation of one image: class index per pixel (255 where the input is nodata) and uncertainty maps. */
export interface Segmentation {
  width: number;
  height: number;
  labels: Uint8Array;
  /** Entropy of the mean member distribution, in nats; ln(classes) is the most uncertain. */
  entropy: Float32Array;
  mutualInformation: Float32Array;
}

/** Pixels classified per classifier call: bounds the feature rows held at once (rows × dim floats). */
const CHUNK_PIXELS = 8192;

/** A trained ensemble bound to its backbone, ready to segment images of any size tile by tile. */
export class Segmenter {
  private constructor(
    readonly manifest: Omit<EnsembleManifest, 'weights'>,
    readonly backbone: FeatureBackbone,
    readonly classifier: EnsembleClassifier,
  ) {}

  /** Binds ensemble weights to an opened backbone; the backbone must be the one the ensemble was trained on. */
  static async create(engine: Engine, backbone: FeatureBackbone, manifest: Omit<EnsembleManifest, 'weights'>, weights: EnsembleWeights): Promise<Segmenter> {
    const b = manifest.backbone;
    if (b.id !== backbone.id || b.sha256 !== backbone.sha256) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `This ensemble was trained on backbone "${b.id}" (sha256 ${b.sha256.slice(0, 12)}…), not on "${backbone.id}" (sha256 ${backbone.sha256.slice(0, 12)}…)`, {
        details: { ensemble: { id: b.id, sha256: b.sha256 }, loaded: { id: backbone.id, sha256: backbone.sha256 } },
      });
    }
    if (b.dim !== backbone.dim || b.timesteps.join() !== backbone.timesteps.join()) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `This ensemble expects ${b.dim} features at timesteps ${b.timesteps.join(',')}; backbone "${backbone.id}" gives ${backbone.dim} at ${backbone.timesteps.join(',')}`);
    }
    return new Segmenter(manifest, backbone, await EnsembleClassifier.open(engine, weights));
  }

  /** Loads an ensemble folder and the backbone it names (from the catalog, by id), checking they belong together. */
  static async load(engine: Engine, catalog: ModelCatalog, folder: string): Promise<Segmenter> {
    const { manifest, weights } = await loadEnsemble(folder);
    let model;
    try {
      model = await catalog.resolve(manifest.backbone.id);
    } catch (error) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `The ensemble in ${folder} needs backbone model "${manifest.backbone.id}", which is not installed`, { cause: error });
    }
    if (model.manifest.files.find((f) => f.role === 'model')?.sha256 !== manifest.backbone.sha256) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `The installed "${manifest.backbone.id}" is not the version this ensemble was trained on (sha256 differs): train the ensemble again on it`);
    }
    return Segmenter.create(engine, await openFeatureBackbone(engine, model), manifest, weights);
  }

  async segment(raster: Raster, options: SegmentOptions = {}): Promise<Segmentation> {
    const { backbone, classifier } = this;
    const { width, height } = raster;
    const image = backboneInput(raster, backbone, this.manifest.bands);
    const labels = new Uint8Array(width * height);
    const entropy = new Float32Array(width * height);
    const mutualInformation = new Float32Array(width * height);
    const features = new Float32Array(CHUNK_PIXELS * backbone.dim);
    const { members, classes, dim } = { members: classifier.ensemble.members, classes: classifier.ensemble.classes, dim: backbone.dim };
    const xs = new Int32Array(CHUNK_PIXELS);
    const ys = new Int32Array(CHUNK_PIXELS);
    const tiles = featureTiles(backbone, image, {
      seed: this.manifest.seed,
      ...(options.tile ? { tile: options.tile } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onTile: (tile, of) => options.onProgress?.({ kind: 'tile', tile, of }),
    });
    for await (const tile of tiles) {
      const { x: x0, y: y0, width: w, height: h } = tile.owned;
      for (let start = 0; start < w * h; start += CHUNK_PIXELS) {
        throwIfAborted(options.signal);
        const n = Math.min(CHUNK_PIXELS, w * h - start);
        for (let i = 0; i < n; i++) {
          xs[i] = x0 + ((start + i) % w);
          ys[i] = y0 + Math.floor((start + i) / w);
        }
        tile.sample(xs.subarray(0, n), ys.subarray(0, n), features);
        const vote = voteEnsemble(await classifier.probabilities(features.subarray(0, n * dim), n), members, n, classes);
        for (let i = 0; i < n; i++) {
          const p = ys[i]! * width + xs[i]!;
          labels[p] = vote.labels[i]!;
          entropy[p] = vote.entropy[i]!;
          mutualInformation[p] = vote.mutualInformation[i]!;
        }
      }
    }
    if (raster.nodata !== undefined) {
      const mask = nodataMask(raster);
      for (let p = 0; p < mask.length; p++) if (mask[p]) labels[p] = IGNORE_INDEX;
    }
    return { width, height, labels, entropy, mutualInformation };
  }
}
