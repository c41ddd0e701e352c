import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError, readImageFile, type Raster, type Rect } from '@diffusekit/core';
import { IMAGE_EXTENSIONS, type BatchItem } from './discover.js';
import type { TaskInputBuilder } from './image-file-work.js';

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

/**
 * Finds each input's inpainting mask: one mask file for every input, or, when `mask` is a folder, the file with the
 * input's relative path in it (or the same path with another image extension, so photo.jpg may have photo.png).
 * Inputs without a mask map to undefined and fail on their own with MASK_MISSING.
 */
export async function locateMasks(mask: string, items: readonly BatchItem[]): Promise<Map<string, string | undefined>> {
  const info = await stat(mask).catch(() => undefined);
  if (!info) throw new DiffusekitError('FILE_NOT_FOUND', `Mask ${mask} does not exist`, { details: { path: mask } });
  const found = new Map<string, string | undefined>();
  for (const item of items) {
    if (!info.isDirectory()) {
      found.set(item.input, path.resolve(mask));
      continue;
    }
    const stem = item.relative.slice(0, item.relative.length - path.extname(item.relative).length);
    const candidates = [item.relative, ...IMAGE_EXTENSIONS.map((ext) => stem + ext)].map((rel) => path.resolve(mask, rel));
    let match: string | undefined;
    for (const candidate of candidates) if (candidate !== item.input && (await isFile(candidate))) (match ??= candidate);
    found.set(item.input, match);
  }
  return found;
}

/** The inpainting input { image, mask } of each file, reading the mask that `locateMasks` found for it. */
export function maskedInput(masks: ReadonlyMap<string, string | undefined>, folder: string, maxPixels?: number, window?: Rect): TaskInputBuilder {
  return async (file, image, signal) => {
    const maskFile = masks.get(file);
    if (maskFile === undefined) {
      throw new DiffusekitError('MASK_MISSING', `Expected a mask for ${file} in ${folder} (same relative path, any image extension) but found none`, {
        details: { input: file, folder },
      });
    }
    // The mask covers the same pixels as the image, so it is cut to the same window.
    const mask: Raster = (await readImageFile(maskFile, { signal, ...(maxPixels ? { maxPixels } : {}), ...(window ? { window } : {}) })).raster;
    return { image, mask };
  };
}
