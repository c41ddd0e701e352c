import { DiffusekitError, nodataMask, throwIfAborted, type Engine, type ModelCatalog, type Progress, type Raster } from '@diffusekit/core';
import { IGNORE_INDEX, type EnsembleManifest } from '../ensemble/ensemble-manifest.js';
import { loadEnsemble } from '../ensemble/ensemble-store.js';
import { openFeatureBackbone, type FeatureBackbone } from '../features/backbone.js';
import { featureTiles } from '../features/feature-tiles.js';
import type { EnsembleWeights } from '../mlp/ensemble-weights.js';
import { voteEnsemble } from '../mlp/ensemble-vote.js';
import { DenseEnsembleHead } from '../mlp/dense-head.js';
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

/** A trained ensemble bound to its backbone, ready to segment images of any size tile by tile. */
export class Segmenter {
  readonly #head: DenseEnsembleHead;

  private constructor(
    engine: Engine,
    readonly manifest: Omit<EnsembleManifest, 'weights'>,
    readonly backbone: FeatureBackbone,
    readonly classifier: EnsembleClassifier,
  ) {
    this.#head = new DenseEnsembleHead(engine, classifier.ensemble, backbone.outputs, backbone.timesteps.length);
  }

  /** Binds ensemble weights to an opened backbone; the backbone must be the one the ensemble was trained on. */
  static async create(engine: Engine, backbone: FeatureBackbone, manifest: Omit<EnsembleManifest, 'weights'>, weights: EnsembleWeights): Promise<Segmenter> {
    const b = manifest.backbone;
    if (b.id !== backbone.id || b.sha256 !== backbone.sha256) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `This ensemble was trained on backbone "${b.id}" (sha256 ${b.sha256.slice(0, 12)}…), not on "${backbone.id}" (sha256 ${backbone.sha256.slice(0, 12)}…)`, {
        details: { ensemble: { id: b.id, sha256: b.sha256 }, loaded: { id: backbone.id, sha256: backbone.sha256 } },
      });
    }
    const roles = backbone.outputs.map((o) => o.role).join();
    if (b.dim !== backbone.dim || b.timesteps.join() !== backbone.timesteps.join() || b.outputs.join() !== roles) {
      throw new DiffusekitError('BACKBONE_MISMATCH', `This ensemble expects ${b.dim} features of ${b.outputs.join(',')} at timesteps ${b.timesteps.join(',')}; backbone "${backbone.id}" was opened for ${backbone.dim} of ${roles} at ${backbone.timesteps.join(',')} (open it with the ensemble's read-out, as Segmenter.load does)`);
    }
    return new Segmenter(engine, manifest, backbone, await EnsembleClassifier.open(engine, weights));
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
    const readout = { outputs: manifest.backbone.outputs, timesteps: manifest.backbone.timesteps };
    return Segmenter.create(engine, await openFeatureBackbone(engine, model, readout), manifest, weights);
  }

  async segment(raster: Raster, options: SegmentOptions = {}): Promise<Segmentation> {
    const { backbone } = this;
    const { width, height } = raster;
    const image = backboneInput(raster, backbone, this.manifest.bands);
    const labels = new Uint8Array(width * height);
    const entropy = new Float32Array(width * height);
    const mutualInformation = new Float32Array(width * height);
    const { members, classes } = this.classifier.ensemble;
    const tiles = featureTiles(backbone, image, {
      seed: this.manifest.seed,
      ...(options.tile ? { tile: options.tile } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onTile: (tile, of) => options.onProgress?.({ kind: 'tile', tile, of }),
    });
    for await (const tile of tiles) {
      throwIfAborted(options.signal);
      const { rect, owned } = tile;
      const all = await this.#head.probabilities(tile.outputs.map((o) => o.data), rect.height, rect.width);
      const n = owned.width * owned.height;
      const probabilities = new Float32Array(members * n * classes);
      for (let m = 0; m < members; m++) {
        for (let i = 0; i < n; i++) {
          const tilePixel = (owned.y - rect.y + Math.floor(i / owned.width)) * rect.width + (owned.x - rect.x + (i % owned.width));
          const from = (m * rect.width * rect.height + tilePixel) * classes;
          probabilities.set(all.subarray(from, from + classes), (m * n + i) * classes);
        }
      }
      const vote = voteEnsemble(probabilities, members, n, classes);
      for (let i = 0; i < n; i++) {
        const p = (owned.y + Math.floor(i / owned.width)) * width + owned.x + (i % owned.width);
        labels[p] = vote.labels[i]!;
        entropy[p] = vote.entropy[i]!;
        mutualInformation[p] = vote.mutualInformation[i]!;
      }
    }
    if (raster.nodata !== undefined) {
      const mask = nodataMask(raster);
      for (let p = 0; p < mask.length; p++) if (mask[p]) labels[p] = IGNORE_INDEX;
    }
    return { width, height, labels, entropy, mutualInformation };
  }
}
