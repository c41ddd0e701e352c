import { DiffusekitError } from '../errors.js';
import { allocateSamples } from './dtype.js';
import type { Raster } from './types.js';

/** Throws BAND_SELECTION_INVALID unless `indices` is a non-empty array of 0-based band indices of the raster. */
export function checkBandIndices(raster: Pick<Raster, 'bands'>, indices: unknown): asserts indices is number[] {
  const valid = raster.bands === 1 ? 'index 0' : `indices 0..${raster.bands - 1}`;
  if (!Array.isArray(indices) || indices.length === 0) {
    throw new DiffusekitError('BAND_SELECTION_INVALID', `Expected a non-empty array of band indices; this raster has ${raster.bands} band(s), valid ${valid}`, {
      details: { bands: raster.bands, indices },
    });
  }
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= raster.bands) {
      throw new DiffusekitError(
        'BAND_SELECTION_INVALID',
        `Band index ${String(index)} is out of range: this raster has ${raster.bands} band(s), valid ${valid} (0-based)`,
        { details: { bands: raster.bands, indices, invalid: index } },
      );
    }
  }
}

/**
 * A new raster holding the chosen bands in the given order (0-based; repeats allowed, e.g. [0, 0, 0] for grey to RGB).
 * Samples are copied; nodata, georeference and the chosen band names are kept.
 */
export function selectBands(raster: Raster, indices: readonly number[]): Raster {
  checkBandIndices(raster, indices);
  const plane = raster.width * raster.height;
  const data = allocateSamples(raster.dtype, plane * indices.length);
  indices.forEach((band, i) => data.set(raster.data.subarray(band * plane, (band + 1) * plane), i * plane));
  const selected: Raster = { ...raster, bands: indices.length, data };
  if (raster.bandNames) selected.bandNames = indices.map((band) => raster.bandNames?.[band] ?? '');
  return selected;
}
