import { createRaster, decodeImage, defaultStretch, nodataMask, rasterToTensor, resolveStretch, tensorToRaster } from '@diffusekit/core';
import type { Raster, RecordedStretch } from '@diffusekit/core';
import { firstDifference, fixture, seededRandom } from '../../../test/fixtures/helpers.js';

function randomRaster(dtype: 'uint8' | 'uint16', bands: number, seed: number): Raster {
  const next = seededRandom(seed);
  const width = 17;
  const height = 11;
  const max = dtype === 'uint8' ? 256 : 65536;
  const data = dtype === 'uint8' ? new Uint8Array(width * height * bands) : new Uint16Array(width * height * bands);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * max);
  return createRaster({ width, height, bands, dtype, data });
}

function backToRaster(raster: Raster, tensor: { data: Float32Array; channels: number; stretch: RecordedStretch }, range: [number, number]): Raster {
  return tensorToRaster(tensor.data, { width: raster.width, height: raster.height, channels: tensor.channels, range, stretch: tensor.stretch, dtype: raster.dtype });
}

describe('rasterToTensor / tensorToRaster', () => {
  it.each([
    ['uint8', 'dtype', [-1, 1]],
    ['uint8', 'minmax', [0, 1]],
    ['uint16', 'dtype', [-1, 1]],
    ['uint16', 'minmax', [-1, 1]],
  ] as const)('%s with the %s stretch comes back exactly through the recorded stretch', (dtype, kind, range) => {
    const raster = randomRaster(dtype, 3, dtype === 'uint8' ? 1 : 2);
    const tensor = rasterToTensor(raster, { range: [...range], stretch: { kind } });
    expect(tensor.stretch.kind).toBe('fixed');
    expect(tensor.dims).toEqual([1, 3, raster.height, raster.width]);
    expect(tensor.data.length).toBe(3 * raster.height * raster.width);
    expect(tensor.data.every((v) => v >= range[0] && v <= range[1])).toBe(true);
    const back = backToRaster(raster, tensor, [...range]);
    expect(back.dtype).toBe(dtype);
    expect(firstDifference(back.data, raster.data)).toBe(-1);
  });

  it('round-trips a real 16-bit image exactly with a recorded percentile stretch that covers it', async () => {
    const { raster } = await decodeImage(fixture('gray16.png'));
    const tensor = rasterToTensor(raster, { range: [-1, 1], stretch: { kind: 'percentile', low: 0, high: 100 } });
    expect(firstDifference(backToRaster(raster, tensor, [-1, 1]).data, raster.data)).toBe(-1);
  });

  it('records the dtype range and min/max of each band', () => {
    const raster = createRaster({ width: 2, height: 1, bands: 2, dtype: 'uint16', data: new Uint16Array([100, 300, 7, 9]) });
    expect(rasterToTensor(raster, { range: [0, 1], stretch: { kind: 'dtype' } }).stretch).toEqual({ kind: 'fixed', min: [0, 0], max: [65535, 65535] });
    const minmax = rasterToTensor(raster, { range: [0, 1], stretch: { kind: 'minmax' } });
    expect(minmax.stretch).toEqual({ kind: 'fixed', min: [100, 7], max: [300, 9] });
    expect(Array.from(minmax.data)).toEqual([0, 1, 0, 1]);
  });

  it('computes percentiles per band with nodata left out, and clips values beyond them', () => {
    const values = Array.from({ length: 101 }, (_, i) => i * 10); // 0, 10, ..., 1000
    const raster = createRaster({ width: 103, height: 1, bands: 1, dtype: 'int16', data: new Int16Array([...values, -9999, -9999]), nodata: -9999 });
    const tensor = rasterToTensor(raster, { range: [0, 1], stretch: { kind: 'percentile', low: 10, high: 90 } });
    expect(tensor.stretch).toEqual({ kind: 'fixed', min: [100], max: [900] });
    expect(tensor.data[0]).toBe(0); // 0 lies below the 10th percentile
    expect(tensor.data[100]).toBe(1); // 1000 lies above the 90th
    expect(tensor.data[50]).toBeCloseTo(0.5, 6);
    expect(tensor.data[101]).toBe(0); // nodata maps to the low end of the range
  });

  it('uses the dtype stretch for uint8 and percentiles for wider dtypes by default', () => {
    expect(defaultStretch('uint8')).toEqual({ kind: 'dtype' });
    expect(defaultStretch('uint16')).toEqual({ kind: 'percentile', low: 0.1, high: 99.9 });
    const floats = createRaster({ width: 1000, height: 1, bands: 1, dtype: 'float32', data: Float32Array.from({ length: 1000 }, (_, i) => i) });
    const [lo, hi] = [0.1, 99.9].map((p) => (p / 100) * 999);
    expect(resolveStretch(floats, [0], defaultStretch('float32'))).toEqual({ kind: 'fixed', min: [lo], max: [hi] });
  });

  it('converts only the chosen bands, in order', () => {
    const raster = randomRaster('uint8', 4, 3);
    const tensor = rasterToTensor(raster, { bands: [2, 0], range: [0, 1] });
    expect(tensor.channels).toBe(2);
    const plane = raster.width * raster.height;
    expect(tensor.data[0]).toBeCloseTo(raster.data[2 * plane]! / 255, 6);
    expect(tensor.data[plane]).toBeCloseTo(raster.data[0]! / 255, 6);
  });

  it('restores nodata where the mask says so', () => {
    const raster = createRaster({ width: 3, height: 1, bands: 1, dtype: 'uint16', data: new Uint16Array([10, 0, 30]), nodata: 0 });
    const tensor = rasterToTensor(raster, { range: [-1, 1], stretch: { kind: 'fixed', min: [0], max: [100] } });
    const back = tensorToRaster(tensor.data, { width: 3, height: 1, channels: 1, range: [-1, 1], stretch: tensor.stretch, dtype: 'uint16', nodata: 0, nodataMask: nodataMask(raster) });
    expect(Array.from(back.data)).toEqual([10, 0, 30]);
    expect(back.nodata).toBe(0);
  });

  it('rounds and clamps model outputs to the dtype', () => {
    const tensor = new Float32Array([-1.5, -1, 0, 1, 2]);
    const back = tensorToRaster(tensor, { width: 5, height: 1, channels: 1, range: [-1, 1], stretch: { kind: 'fixed', min: [0], max: [255] }, dtype: 'uint8' });
    expect(Array.from(back.data)).toEqual([0, 0, 128, 255, 255]);
  });

  it('refuses bad band indices, ranges, stretches and tensor sizes with coded errors', () => {
    const raster = randomRaster('uint8', 2, 4);
    expect(() => rasterToTensor(raster, { bands: [2], range: [0, 1] })).toThrow(expect.objectContaining({ code: 'BAND_SELECTION_INVALID' }));
    expect(() => rasterToTensor(raster, { range: [1, 0] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('range') }));
    expect(() => rasterToTensor(raster, { range: [0, 1], stretch: { kind: 'percentile', low: 50, high: 10 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('stretch.high') }),
    );
    expect(() => rasterToTensor(raster, { range: [0, 1], stretch: { kind: 'fixed', min: [0, 0, 0], max: [1, 1, 1] } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('stretch.min') }),
    );
    const floats = createRaster({ width: 1, height: 1, bands: 1, dtype: 'float32' });
    expect(() => rasterToTensor(floats, { range: [0, 1], stretch: { kind: 'dtype' } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() =>
      tensorToRaster(new Float32Array(5), { width: 2, height: 2, channels: 1, range: [0, 1], stretch: { kind: 'fixed', min: [0], max: [1] }, dtype: 'uint8' }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('4 values') }));
  });
});
