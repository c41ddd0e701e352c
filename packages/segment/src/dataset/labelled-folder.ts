import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError, readImageFile, type Raster } from '@diffusekit/core';
import { labelsFromMask } from './label-mask.js';
import type { LabelPalette } from './label-palette.js';

export interface LabelledImagePaths {
  name: string;
  image: string;
  mask: string;
}

export interface LabelledImage {
  name: string;
  raster: Raster;
  labels: Uint8Array;
}

const stem = (file: string): string => path.basename(file, path.extname(file));

async function listFiles(dir: string, what: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch (error) {
    throw new DiffusekitError('FILE_NOT_FOUND', `Cannot read the ${what} folder ${dir}`, { cause: error, details: { path: dir } });
  }
}

/** Pairs each image with the mask of the same name (extensions may differ); an image without a mask is an error. */
export async function listLabelledImages(imagesDir: string, masksDir: string): Promise<LabelledImagePaths[]> {
  const images = await listFiles(imagesDir, 'images');
  const masks = new Map((await listFiles(masksDir, 'masks')).map((f) => [stem(f), f]));
  const missing = images.filter((f) => !masks.has(stem(f)));
  if (missing.length) {
    throw new DiffusekitError('TRAINING_DATA_INVALID', `${missing.length} image(s) in ${imagesDir} have no mask of the same name in ${masksDir}: ${missing.slice(0, 5).join(', ')}`, {
      details: { missing },
    });
  }
  if (images.length === 0) throw new DiffusekitError('TRAINING_DATA_INVALID', `No images in ${imagesDir}`);
  return images.map((f) => ({ name: stem(f), image: path.join(imagesDir, f), mask: path.join(masksDir, masks.get(stem(f))!) }));
}

export async function readLabelledImage(paths: LabelledImagePaths, palette: LabelPalette | undefined, signal?: AbortSignal): Promise<LabelledImage> {
  const { raster } = await readImageFile(paths.image, signal ? { signal } : {});
  const { raster: mask } = await readImageFile(paths.mask, signal ? { signal } : {});
  return { name: paths.name, raster, labels: labelsFromMask(mask, raster, palette, paths.mask) };
}
