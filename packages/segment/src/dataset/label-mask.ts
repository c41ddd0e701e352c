import { DiffusekitError, type Raster } from '@diffusekit/core';
import { IGNORE_INDEX } from '../ensemble/ensemble-manifest.js';
import type { LabelPalette } from './label-palette.js';

/**
 * Turns a decoded mask into one class index per pixel (IGNORE_INDEX = unlabelled). A single-band mask (or a grey one
 * saved as RGB) holds class indices, 255 meaning unlabelled. A colour mask needs the palette: every colour of its
 * first three bands must be a class colour or the ignore colour.
 */
export function labelsFromMask(mask: Raster, expected: { width: number; height: number }, palette: LabelPalette | undefined, where: string): Uint8Array {
  if (mask.width !== expected.width || mask.height !== expected.height) {
    throw new DiffusekitError('LABEL_MASK_INVALID', `${where}: the mask is ${mask.width}×${mask.height} but its image is ${expected.width}×${expected.height}; masks must have their image's size`, {
      details: { mask: [mask.width, mask.height], image: [expected.width, expected.height] },
    });
  }
  if (mask.dtype !== 'uint8') {
    throw new DiffusekitError('LABEL_MASK_INVALID', `${where}: the mask is ${mask.dtype}; masks are 8-bit images (class indices or palette colours)`);
  }
  const pixels = mask.width * mask.height;
  const labels = new Uint8Array(pixels);
  const data = mask.data as Uint8Array;
  const greyAsColour = mask.bands >= 3 && sameBands(data, pixels);
  if (mask.bands === 1 || (!palette && greyAsColour)) {
    labels.set(data.subarray(0, pixels));
    if (palette) checkLabelRange(labels, palette.classes.length, where);
    return labels;
  }
  if (!palette) {
    throw new DiffusekitError('LABEL_MASK_INVALID', `${where}: the mask is a ${mask.bands}-band colour image; colour masks need a palette file (--palette) that maps colours to classes, or use single-band class-index masks`);
  }
  if (mask.bands < 3) {
    throw new DiffusekitError('LABEL_MASK_INVALID', `${where}: the mask has ${mask.bands} bands; masks are single-band class indices or RGB colours`);
  }
  const byColor = new Map<number, number>();
  palette.classes.forEach((c, i) => byColor.set((c.color[0] << 16) | (c.color[1] << 8) | c.color[2], i));
  if (palette.ignore) byColor.set((palette.ignore[0] << 16) | (palette.ignore[1] << 8) | palette.ignore[2], IGNORE_INDEX);
  const unknown = new Map<number, number>();
  for (let i = 0; i < pixels; i++) {
    const key = (data[i]! << 16) | (data[pixels + i]! << 8) | data[2 * pixels + i]!;
    const label = byColor.get(key);
    if (label === undefined) unknown.set(key, (unknown.get(key) ?? 0) + 1);
    else labels[i] = label;
  }
  if (unknown.size) {
    const hex = (key: number): string => `#${key.toString(16).padStart(6, '0')}`;
    const worst = [...unknown].sort((a, b) => b[1] - a[1]).slice(0, 5);
    throw new DiffusekitError(
      'LABEL_MASK_INVALID',
      `${where}: ${unknown.size} colour(s) are not in the palette, e.g. ${worst.map(([k, n]) => `${hex(k)} (${n} px)`).join(', ')}. Palette colours: ${palette.classes.map((c) => `${c.name} ${hex((c.color[0] << 16) | (c.color[1] << 8) | c.color[2])}`).join(', ')}`,
      { details: { unknownColors: worst.map(([k, n]) => ({ color: hex(k), pixels: n })) } },
    );
  }
  return labels;
}

/** Checks that every label is a class index or IGNORE_INDEX. */
export function checkLabelRange(labels: Uint8Array, classes: number, where: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v >= classes && v !== IGNORE_INDEX) {
      throw new DiffusekitError('LABEL_MASK_INVALID', `${where}: label ${v} at pixel ${i} is not one of the ${classes} classes (0..${classes - 1}) or ${IGNORE_INDEX} (unlabelled)`);
    }
  }
}

function sameBands(data: Uint8Array, pixels: number): boolean {
  for (let i = 0; i < pixels; i++) if (data[i] !== data[pixels + i] || data[i] !== data[2 * pixels + i]) return false;
  return true;
}
