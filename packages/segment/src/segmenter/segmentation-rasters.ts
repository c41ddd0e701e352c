import { createRaster, rasterToTensor, type Raster } from '@diffusekit/core';
import { IGNORE_INDEX, type SegmentClass } from '../ensemble/ensemble-manifest.js';
import type { Segmentation } from './segmenter.js';

/** The class index of every pixel as one uint8 band (255 = nodata), with the input's georeference. */
export function labelRaster(seg: Segmentation, geo: Raster['geo']): Raster {
  return createRaster({ width: seg.width, height: seg.height, bands: 1, dtype: 'uint8', data: seg.labels, nodata: IGNORE_INDEX, ...(geo ? { geo } : {}) });
}

/** Each pixel in its class colour (black where the input is nodata), with the input's georeference. */
export function colourRaster(seg: Segmentation, classes: readonly SegmentClass[], geo: Raster['geo']): Raster {
  const n = seg.width * seg.height;
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    const colour = classes[seg.labels[p]!]?.color;
    if (colour) for (let c = 0; c < 3; c++) data[c * n + p] = colour[c]!;
  }
  return createRaster({ width: seg.width, height: seg.height, bands: 3, dtype: 'uint8', data, ...(geo ? { geo } : {}) });
}

/** The input's first three bands (or its grey band) blended half and half with the class colours, for people to look at. */
export function overlayRaster(input: Raster, seg: Segmentation, classes: readonly SegmentClass[]): Raster {
  const bands = input.bands >= 3 ? [0, 1, 2] : [0, 0, 0];
  const rgb = rasterToTensor(input, { bands, range: [0, 255] }).data;
  const n = seg.width * seg.height;
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    const colour = classes[seg.labels[p]!]?.color;
    for (let c = 0; c < 3; c++) data[c * n + p] = Math.round(colour ? 0.5 * rgb[c * n + p]! + 0.5 * colour[c]! : rgb[c * n + p]!);
  }
  return createRaster({ width: seg.width, height: seg.height, bands: 3, dtype: 'uint8', data });
}

/** Entropy of the ensemble's mean prediction scaled so that 255 is the most uncertain a distribution over the classes can be. */
export function uncertaintyRaster(seg: Segmentation, classes: number, geo: Raster['geo']): Raster {
  const scale = 255 / Math.log(classes);
  const data = Uint8Array.from(seg.entropy, (h) => Math.min(255, Math.round(h * scale)));
  return createRaster({ width: seg.width, height: seg.height, bands: 1, dtype: 'uint8', data, ...(geo ? { geo } : {}) });
}
