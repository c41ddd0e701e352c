import { DiffusekitError, createRng, throwIfAborted, type Progress } from '@diffusekit/core';
import type { LabelledImage } from '../dataset/labelled-folder.js';
import { IGNORE_INDEX } from '../ensemble/ensemble-manifest.js';
import type { FeatureBackbone } from '../features/backbone.js';
import { pixelFeatures } from '../features/feature-tiles.js';
import { backboneInput, defaultBands } from './backbone-input.js';

/** Backbone features (one row of `dim` per pixel) and class labels of chosen labelled pixels. */
export interface LabelledFeatureRows {
  features: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface FeatureRowOptions {
  /** Seed of the fixed noise field the images are noised with. */
  seed: number;
  bands?: readonly number[];
  tile?: number;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

/** The labelled pixels of each class; a label beyond the classes (other than unlabelled) is LABEL_MASK_INVALID. */
export function countLabelledPixels(images: readonly LabelledImage[], classes: number): number[] {
  const pixelsPerClass = new Array<number>(classes).fill(0);
  for (const img of images) {
    for (let i = 0; i < img.labels.length; i++) {
      const v = img.labels[i]!;
      if (v === IGNORE_INDEX) continue;
      if (v >= classes) {
        throw new DiffusekitError('LABEL_MASK_INVALID', `${img.name}: label ${v} is not one of the ${classes} classes (0..${classes - 1}) or ${IGNORE_INDEX} (unlabelled)`);
      }
      pixelsPerClass[v]!++;
    }
  }
  return pixelsPerClass;
}

/** Refuses training masks that label fewer than two classes (TRAINING_DATA_INVALID). */
export function requireTwoClasses(pixelsPerClass: readonly number[]): void {
  const present = pixelsPerClass.filter((n) => n > 0).length;
  if (present < 2) {
    throw new DiffusekitError('TRAINING_DATA_INVALID', `The masks label ${present} class(es); a segmenter needs pixels of at least two`, { details: { pixelsPerClass } });
  }
}

/** The row options of `labelledFeatureRows` taken from a caller's wider options object. */
export function featureRowOptions(seed: number, from: Omit<FeatureRowOptions, 'seed'>): FeatureRowOptions {
  return {
    seed,
    ...(from.bands ? { bands: from.bands } : {}),
    ...(from.tile ? { tile: from.tile } : {}),
    ...(from.signal ? { signal: from.signal } : {}),
    ...(from.onProgress ? { onProgress: from.onProgress } : {}),
  };
}

/** Picks `budget` of the labelled pixels uniformly at random (all of them when there are fewer), per image in order. */
export function choosePixels(images: readonly LabelledImage[], budget: number, seed: number): Int32Array[] {
  const labelled = images.map((img) => {
    const idx: number[] = [];
    for (let i = 0; i < img.labels.length; i++) if (img.labels[i] !== IGNORE_INDEX) idx.push(i);
    return idx;
  });
  const total = labelled.reduce((s, l) => s + l.length, 0);
  if (total <= budget) return labelled.map((l) => Int32Array.from(l));
  const rng = createRng(seed).derive(7);
  // Selection sampling (Knuth's algorithm S) over the concatenation keeps each image's pixels in order.
  let needed = budget;
  let left = total;
  return labelled.map((l) => {
    const chosen: number[] = [];
    for (const pixel of l) {
      if (rng.uniform() * left < needed) {
        chosen.push(pixel);
        needed--;
      }
      left--;
    }
    return Int32Array.from(chosen);
  });
}

/**
 * Reads the backbone's features at the chosen pixels of each image (decoder maps sampled only there, tile by tile),
 * so only the chosen rows are ever held in memory. Reports an `item` progress event per image.
 */
export async function labelledFeatureRows(backbone: FeatureBackbone, images: readonly LabelledImage[], chosen: readonly Int32Array[], options: FeatureRowOptions): Promise<LabelledFeatureRows> {
  const count = chosen.reduce((s, c) => s + c.length, 0);
  const features = new Float32Array(count * backbone.dim);
  const labels = new Uint8Array(count);
  let row = 0;
  for (const [k, img] of images.entries()) {
    throwIfAborted(options.signal);
    options.onProgress?.({ kind: 'item', item: k + 1, of: images.length, name: img.name });
    const pixels = chosen[k]!;
    if (pixels.length === 0) continue;
    const image = backboneInput(img.raster, backbone, options.bands ?? defaultBands(img.raster, backbone.channels));
    const xs = Int32Array.from(pixels, (p) => p % img.raster.width);
    const ys = Int32Array.from(pixels, (p) => Math.floor(p / img.raster.width));
    const rows = await pixelFeatures(backbone, image, xs, ys, {
      seed: options.seed,
      ...(options.tile ? { tile: options.tile } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    features.set(rows, row * backbone.dim);
    for (const p of pixels) labels[row++] = img.labels[p]!;
  }
  return { features, labels, count };
}
