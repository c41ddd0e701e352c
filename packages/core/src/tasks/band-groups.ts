import { DiffusekitError } from '../errors.js';
import type { Raster } from '../raster/types.js';

/**
 * How a raster's bands are fed to a model with a fixed channel count. A group of one band is replicated to every
 * channel (grey path) and its output is the channels' mean; a full group maps band for band. Alpha is not diffused:
 * it is resized separately.
 */
export interface BandGroup {
  /** Source band indices, one per model channel (repeats allowed). */
  bands: number[];
  /** Output band indices written by this group, in output order. */
  outputs: number[];
  kind: 'full' | 'grey';
}

export interface BandPlan {
  groups: BandGroup[];
  /** Source alpha band, resized instead of diffused; undefined when the raster has none. */
  alpha?: { source: number; output: number };
  /** Number of bands in the output raster. */
  outputBands: number;
  /** Source band index for each output band. */
  sourceOfOutput: number[];
}

const ALPHA_FORMATS = new Set(['png', 'webp', 'tiff']);

/** PNG/WebP/plain-TIFF rasters with 2 or 4 bands carry alpha last; GeoTIFF bands are data (e.g. near infrared). */
export function hasAlphaBand(raster: Raster, channels: number): boolean {
  if (raster.bands !== 2 && raster.bands !== channels + 1) return false;
  return raster.sourceFormat !== undefined && ALPHA_FORMATS.has(raster.sourceFormat);
}

/**
 * Plans band groups: the caller's explicit groups (each of 1 or `channels` bands), or by default grey for 1 band,
 * colour for `channels` bands, alpha kept aside for grey+alpha and colour+alpha, and consecutive groups of `channels`
 * (then single grey bands for the rest) for multispectral rasters.
 */
export function planBandGroups(raster: Raster, channels: number, explicit?: readonly (readonly number[])[]): BandPlan {
  const groups: BandGroup[] = [];
  const sourceOfOutput: number[] = [];
  const add = (bands: readonly number[]): void => {
    const kind = bands.length === 1 && channels > 1 ? 'grey' : 'full';
    const outputs = bands.map((_, i) => sourceOfOutput.length + i);
    sourceOfOutput.push(...bands);
    groups.push({ bands: kind === 'grey' ? new Array<number>(channels).fill(bands[0]!) : [...bands], outputs, kind });
  };

  if (explicit !== undefined) {
    if (explicit.length === 0) throw bandError(raster, channels, 'an empty list of band groups');
    for (const group of explicit) {
      if (group.length !== 1 && group.length !== channels) throw bandError(raster, channels, `a group of ${group.length} bands (${group.join(',')})`);
      for (const b of group) if (!Number.isInteger(b) || b < 0 || b >= raster.bands) throw bandError(raster, channels, `band ${b}`);
      add(group);
    }
    return { groups, outputBands: sourceOfOutput.length, sourceOfOutput };
  }

  const alpha = hasAlphaBand(raster, channels) ? raster.bands - 1 : undefined;
  const dataBands = alpha === undefined ? raster.bands : raster.bands - 1;
  let b = 0;
  for (; b + channels <= dataBands; b += channels) add(Array.from({ length: channels }, (_, i) => b + i));
  for (; b < dataBands; b++) add([b]);
  if (alpha === undefined) return { groups, outputBands: sourceOfOutput.length, sourceOfOutput };
  const output = sourceOfOutput.length;
  sourceOfOutput.push(alpha);
  return { groups, alpha: { source: alpha, output }, outputBands: sourceOfOutput.length, sourceOfOutput };
}

function bandError(raster: Raster, channels: number, what: string): DiffusekitError {
  return new DiffusekitError(
    'BAND_SELECTION_INVALID',
    `Expected band groups of 1 or ${channels} band indices in [0, ${raster.bands - 1}] (e.g. "0,1,2;3,4,5") but received ${what}`,
    { details: { bands: raster.bands, channels } },
  );
}

/** Parses "0,1,2;3,4,5" (groups separated by ';' or ' ', indices by ','). */
export function parseBandGroups(text: string): number[][] {
  const groups = text
    .split(/[;\s]+/)
    .filter(Boolean)
    .map((g) => g.split(',').map((s) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : Number.NaN)));
  if (groups.length === 0 || groups.some((g) => g.some((v) => !Number.isInteger(v)))) {
    throw new DiffusekitError('BAND_SELECTION_INVALID', `Expected band groups like "0,1,2;3,4,5" (0-based indices) but received "${text}"`);
  }
  return groups;
}
