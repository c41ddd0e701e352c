import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError, invalidOption, readImageFile, sliceCount, volumeSlice, type VolumeAxis, type Raster } from '@diffusekit/core';
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

/** The name without its extension (both parts of .nii.gz). */
const stem = (file: string): string => path.basename(file).replace(/\.nii\.gz$/i, '').replace(/\.[^.]*$/, '');

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

/** Which slices of a DICOM or NIfTI volume are used: across `axis` (default 2, k), the listed indices (default all). */
export interface SliceSelection {
  axis?: VolumeAxis;
  slices?: readonly number[];
}

/**
 * Reads a labelled image; a DICOM or NIfTI volume (e.g. a brain with an atlas as its label volume, aligned voxel for
 * voxel) gives one labelled image per selected slice, named `<name>[k=<index>]`.
 */
export async function readLabelledImages(paths: LabelledImagePaths, palette: LabelPalette | undefined, selection: SliceSelection = {}, signal?: AbortSignal): Promise<LabelledImage[]> {
  const image = await readImageFile(paths.image, signal ? { signal } : {});
  const mask = await readImageFile(paths.mask, signal ? { signal } : {});
  if (!image.volume || image.volume.depth === 1) {
    return [{ name: paths.name, raster: image.raster, labels: labelsFromMask(mask.raster, image.raster, palette, paths.mask) }];
  }
  const volume = image.volume;
  const labels = mask.volume;
  if (!labels || labels.width !== volume.width || labels.height !== volume.height || labels.depth !== volume.depth) {
    const size = labels ? `${labels.width}x${labels.height}x${labels.depth}` : `a 2-D ${mask.raster.width}x${mask.raster.height} image`;
    throw new DiffusekitError('LABEL_MASK_INVALID', `${paths.mask}: the mask is ${size} but its image is a ${volume.width}x${volume.height}x${volume.depth} volume; a volume's mask is a label volume on the same voxel grid`, {
      details: { mask: labels ? [labels.width, labels.height, labels.depth] : [mask.raster.width, mask.raster.height], image: [volume.width, volume.height, volume.depth] },
    });
  }
  const axis = selection.axis ?? 2;
  const count = sliceCount(volume, axis);
  const chosen = selection.slices ?? Array.from({ length: count }, (_, i) => i);
  for (const index of chosen) {
    if (!Number.isInteger(index) || index < 0 || index >= count) throw invalidOption('slices', `slice indices in [0, ${count - 1}] across axis ${'ijk'[axis]}`, index);
  }
  return chosen.map((index) => {
    const raster = volumeSlice(volume, axis, index);
    const where = `${paths.mask}[${'ijk'[axis]}=${index}]`;
    return { name: `${paths.name}[${'ijk'[axis]}=${index}]`, raster, labels: labelsFromMask(volumeSlice(labels, axis, index), raster, palette, where) };
  });
}
