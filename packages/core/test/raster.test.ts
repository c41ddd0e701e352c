import { createRaster, cropRaster, nodataMask, selectBands } from '@diffusekit/core';
import type { Raster } from '@diffusekit/core';

/** 4x3 raster with `bands` bands; sample = band * 100 + y * 10 + x. */
function gridRaster(bands: number): Raster {
  const data = new Uint16Array(4 * 3 * bands);
  for (let b = 0; b < bands; b++) for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) data[b * 12 + y * 4 + x] = b * 100 + y * 10 + x;
  return createRaster({ width: 4, height: 3, bands, dtype: 'uint16', data, bandNames: Array.from({ length: bands }, (_, b) => `b${b}`) });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('createRaster', () => {
  it('allocates zero-filled samples of the dtype when data is left out', () => {
    const raster = createRaster({ width: 5, height: 2, bands: 3, dtype: 'int16' });
    expect(raster.data).toBeInstanceOf(Int16Array);
    expect(raster.data.length).toBe(30);
    expect(Array.from(raster.data).every((v) => v === 0)).toBe(true);
  });

  it('accepts a Buffer as uint8 samples without copying them', () => {
    const data = Buffer.alloc(6, 7);
    const raster = createRaster({ width: 3, height: 2, bands: 1, dtype: 'uint8', data });
    expect(raster.data).toBe(data);
  });

  it.each([
    ['a typed array of the wrong kind', { width: 2, height: 2, bands: 1, dtype: 'uint16', data: new Uint8Array(4) }, 'raster.data'],
    ['a sample count that does not match the size', { width: 2, height: 2, bands: 2, dtype: 'uint8', data: new Uint8Array(4) }, '8 samples'],
    ['a zero width', { width: 0, height: 2, bands: 1, dtype: 'uint8' }, 'raster.width'],
    ['a fractional height', { width: 2, height: 1.5, bands: 1, dtype: 'uint8' }, 'raster.height'],
    ['an unknown dtype', { width: 2, height: 2, bands: 1, dtype: 'uint32' }, 'uint8, uint16, int16, float32'],
    ['nodata the dtype cannot hold', { width: 1, height: 1, bands: 1, dtype: 'uint8', nodata: -1 }, 'raster.nodata'],
    ['a 5-number transform', { width: 1, height: 1, bands: 1, dtype: 'uint8', geo: { transform: [0, 1, 0, 0, 0] } }, 'geo.transform'],
    ['band names of the wrong count', { width: 1, height: 1, bands: 2, dtype: 'uint8', bandNames: ['only one'] }, 'raster.bandNames'],
  ])('refuses %s with INVALID_RASTER', (_label, spec, wording) => {
    expect(() => createRaster(spec as never)).toThrow(expect.objectContaining({ code: 'INVALID_RASTER', message: expect.stringContaining(wording) }));
  });
});

describe('selectBands', () => {
  it('copies the chosen bands in the given order, with their names', () => {
    const raster = gridRaster(4);
    const picked = selectBands(raster, [3, 1, 1]);
    expect(picked.bands).toBe(3);
    expect(picked.bandNames).toEqual(['b3', 'b1', 'b1']);
    expect(Array.from(picked.data.subarray(0, 12))).toEqual(Array.from(raster.data.subarray(36, 48)));
    expect(Array.from(picked.data.subarray(12, 24))).toEqual(Array.from(raster.data.subarray(12, 24)));
    picked.data[0] = 999;
    expect(raster.data[36]).toBe(300);
  });

  it.each([[[4]], [[-1]], [[0.5]], [[]], [['1']]])('refuses indices %j with BAND_SELECTION_INVALID naming the valid range', (indices) => {
    const raster = gridRaster(4);
    expect(() => selectBands(raster, indices as number[])).toThrow(
      expect.objectContaining({ code: 'BAND_SELECTION_INVALID', message: expect.stringContaining('0..3') }),
    );
  });
});

describe('cropRaster', () => {
  it('cuts the same rectangle out of every band', () => {
    const cropped = cropRaster(gridRaster(2), { x: 1, y: 1, width: 2, height: 2 });
    expect(Array.from(cropped.data)).toEqual([11, 12, 21, 22, 111, 112, 121, 122]);
  });

  it('moves the georeference origin to the crop, rotation terms included', () => {
    const raster: Raster = { ...gridRaster(1), geo: { transform: [1000, 2, 0.5, 5000, 0.25, -3], epsg: 32633 } };
    const cropped = cropRaster(raster, { x: 3, y: 2, width: 1, height: 1 });
    expect(cropped.geo).toEqual({ transform: [1000 + 3 * 2 + 2 * 0.5, 2, 0.5, 5000 + 3 * 0.25 + 2 * -3, 0.25, -3], epsg: 32633 });
    expect(raster.geo?.transform[0]).toBe(1000);
  });

  it.each([
    { x: 3, y: 0, width: 2, height: 1 },
    { x: 0, y: 0, width: 0, height: 1 },
    { x: -1, y: 0, width: 1, height: 1 },
    { x: 0.5, y: 0, width: 1, height: 1 },
  ])('refuses %j with INVALID_OPTION', (rect) => {
    expect(codeOf(() => cropRaster(gridRaster(1), rect))).toBe('INVALID_OPTION');
  });
});

describe('nodataMask', () => {
  it('marks a pixel when any band holds the nodata value', () => {
    const raster = createRaster({ width: 3, height: 1, bands: 2, dtype: 'int16', data: new Int16Array([5, -9999, 7, 1, 2, -9999]), nodata: -9999 });
    expect(Array.from(nodataMask(raster))).toEqual([0, 1, 1]);
  });

  it('matches NaN nodata and float32 values stored with float32 precision', () => {
    const nan = createRaster({ width: 3, height: 1, bands: 1, dtype: 'float32', data: new Float32Array([1, NaN, 3]), nodata: NaN });
    expect(Array.from(nodataMask(nan))).toEqual([0, 1, 0]);
    const big = createRaster({ width: 2, height: 1, bands: 1, dtype: 'float32', data: new Float32Array([-3.4e38, 0]), nodata: -3.4e38 });
    expect(Array.from(nodataMask(big))).toEqual([1, 0]);
  });

  it('is all zero without a nodata value', () => {
    expect(Array.from(nodataMask(gridRaster(1))).every((v) => v === 0)).toBe(true);
  });
});
