import type { Raster } from './types.js';

/** True for a sample that equals the raster's nodata value (NaN nodata matches NaN samples). */
export function nodataMatcher(raster: Pick<Raster, 'nodata' | 'dtype'>): ((value: number) => boolean) | undefined {
  const { nodata } = raster;
  if (nodata === undefined) return undefined;
  if (Number.isNaN(nodata)) return (value) => Number.isNaN(value);
  // float32 samples are compared with the nodata value as float32 stores it (e.g. -3.4e38 read from a text tag).
  const target = raster.dtype === 'float32' ? Math.fround(nodata) : nodata;
  return (value) => value === target;
}

/** One byte per pixel: 1 where any band equals the nodata value, 0 elsewhere (all 0 when the raster has no nodata). */
export function nodataMask(raster: Raster): Uint8Array {
  const plane = raster.width * raster.height;
  const mask = new Uint8Array(plane);
  const isNodata = nodataMatcher(raster);
  if (!isNodata) return mask;
  for (let band = 0; band < raster.bands; band++) {
    const offset = band * plane;
    for (let i = 0; i < plane; i++) {
      if (mask[i] === 0 && isNodata(raster.data[offset + i]!)) mask[i] = 1;
    }
  }
  return mask;
}
