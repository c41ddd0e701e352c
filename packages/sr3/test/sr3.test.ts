import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRaster, createRuntime, readImageFile, type ImageTaskResult, type Raster } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { rejection } from '../../core/test/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const runtime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')], plugins: [sr3Plugin] });
const load = () => runtime.load<Raster, unknown, ImageTaskResult>('sr3', { model: 'tiny-sr3-x2' });

afterAll(() => runtime.close());


describe('sr3 task', () => {
  it('upscales a real RGB crop by the model scale, keeping dtype and format, deterministically per seed', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const sr = await load();
    const a = await sr.run(raster, { seed: 3, steps: 2 });
    expect([a.raster.width, a.raster.height, a.raster.bands, a.raster.dtype]).toEqual([raster.width * 2, raster.height * 2, raster.bands, 'uint8']);
    expect(a.raster.sourceFormat).toBe('png');
    const b = await sr.run(raster, { seed: 3, steps: 2 });
    expect(Buffer.from(b.raster.data.buffer).equals(Buffer.from(a.raster.data.buffer))).toBe(true);
    const c = await sr.run(raster, { seed: 4, steps: 2 });
    expect(Buffer.from(c.raster.data.buffer).equals(Buffer.from(a.raster.data.buffer))).toBe(false);
    // The tiny model is bicubic plus a bounded residual, so the output must stay close to the input's colours.
    const meanOf = (r: Raster) => Array.from(r.data).reduce((s, v) => s + v, 0) / r.data.length;
    expect(Math.abs(meanOf(a.raster) - meanOf(raster))).toBeLessThan(6);
  });

  it('upscales with a model exported with a fixed batch axis exactly as with its dynamic twin, at any tiles per call', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const options = { seed: 5, steps: 2, tile: 32, overlap: 8 };
    const reference = await (await load()).run(raster, { ...options, tilesPerCall: 4 });
    for (const model of ['tiny-sr3-x2-batch1', 'tiny-sr3-x2-batch3']) {
      const sr = await runtime.load<Raster, unknown, ImageTaskResult>('sr3', { model });
      for (const tilesPerCall of [1, 4]) {
        const out = await sr.run(raster, { ...options, tilesPerCall });
        let maxDiff = 0;
        out.raster.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - reference.raster.data[i]!))));
        expect(maxDiff).toBeLessThanOrEqual(1);
      }
    }
  });

  it('keeps 16-bit data 16-bit and maps it back through the recorded stretch', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'gray16.png'));
    const out = await (await load()).run(raster, { steps: 2 });
    expect(out.raster.dtype).toBe('uint16');
    expect(out.raster.bands).toBe(1);
    expect(out.info?.groups).toEqual([[0]]);
    const max = Math.max(...out.raster.data);
    expect(max).toBeGreaterThan(255); // not squashed to 8-bit
  });

  it('upscales a 6-band GeoTIFF group by group and scales its geotransform', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'l7etm-crop.tif'));
    const out = await (await load()).run(raster, { steps: 1, tile: 32, overlap: 8 });
    expect(out.raster.bands).toBe(6);
    expect(out.info?.groups).toEqual([[0, 1, 2], [3, 4, 5]]);
    const [x0, px, , y0, , py] = raster.geo!.transform;
    expect(out.raster.geo!.transform).toEqual([x0, px / 2, 0, y0, 0, py / 2]);
    expect(out.raster.geo!.epsg).toBe(raster.geo!.epsg);
  });

  it('takes explicit band groups and refuses impossible ones with BAND_SELECTION_INVALID', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'l7etm-crop.tif'));
    const sr = await load();
    const out = await sr.run(raster, { steps: 1, bands: '2,1,0;3' });
    expect(out.raster.bands).toBe(4);
    expect((await rejection(sr.run(raster, { bands: '0,1' }))).code).toBe('BAND_SELECTION_INVALID');
    expect((await rejection(sr.run(raster, { bands: '0,1,9' }))).code).toBe('BAND_SELECTION_INVALID');
  });

  it('keeps nodata pixels nodata', async () => {
    const raster = createRaster({ width: 12, height: 10, bands: 3, dtype: 'uint16', nodata: 0 });
    for (let i = 0; i < raster.data.length; i++) raster.data[i] = 1000 + (i % 37) * 20;
    for (let b = 0; b < 3; b++) raster.data[b * 120 + 5 * 12 + 4] = 0; // pixel (4, 5) is nodata
    const out = await (await load()).run(raster, { steps: 1 });
    const w = 24;
    for (let b = 0; b < 3; b++) {
      for (const [x, y] of [[8, 10], [9, 11]]) expect(out.raster.data[b * 24 * 20 + y! * w + x!]).toBe(0);
      expect(out.raster.data[b * 24 * 20 + 0]).not.toBe(0);
    }
    expect(out.raster.nodata).toBe(0);
  });

  it('handles images smaller than a tile and sizes that are not a multiple of the stride', async () => {
    const raster = createRaster({ width: 5, height: 3, bands: 3, dtype: 'uint8' });
    raster.data.fill(128);
    const out = await (await load()).run(raster, { steps: 1 });
    expect([out.raster.width, out.raster.height]).toEqual([10, 6]);
  });

  it('refuses bad options with INVALID_OPTION and stops on abort with ABORTED', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const sr = await load();
    expect((await rejection(sr.run(raster, { steps: 0 }))).code).toBe('INVALID_OPTION');
    expect((await rejection(sr.run(raster, { sampler: 'euler' }))).message).toContain('one of ddpm, ddim, dpmpp-2m');
    expect((await rejection(sr.run(raster, { colour: 1 }))).message).toContain('Unknown option "colour"');
    const controller = new AbortController();
    let steps = 0;
    const run = sr.run(raster, { steps: 20, tile: 32 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.kind === 'step' && ++steps === 2) controller.abort();
      },
    });
    expect((await rejection(run)).code).toBe('ABORTED');
    expect(steps).toBeLessThan(4);
  });
});

describe('sr3 stretch option', () => {
  it('accepts each stretch kind on 16-bit data and keeps the output 16-bit', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'rgb16.tif'));
    const sr = await load();
    for (const stretch of ['dtype', 'minmax', 'percentile']) {
      const out = await sr.run(raster, { steps: 1, stretch });
      expect(out.raster.dtype).toBe('uint16');
      const recorded = (out.info?.stretch as { min: number[]; max: number[] }[])[0]!;
      if (stretch === 'dtype') expect(recorded).toEqual({ min: [0, 0, 0], max: [65535, 65535, 65535] });
      else expect(recorded.max[0]!).toBeLessThan(65535);
    }
  });
});

describe('srdiff task', () => {
  const srdiffRuntime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')], plugins: [sr3Plugin] });
  const loadSrdiff = () => srdiffRuntime.load<Raster, unknown, ImageTaskResult>('srdiff', { model: 'tiny-srdiff-x2' });
  afterAll(() => srdiffRuntime.close());

  it('adds the diffused residual to the encoder upsampling, the same whether tiled or not', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const sr = await loadSrdiff();
    const whole = await sr.run(raster, { steps: 3, tile: 256 });
    const tiled = await sr.run(raster, { steps: 3, tile: 32, overlap: 8, tilesPerCall: 3 });
    expect([whole.raster.width, whole.raster.height, whole.raster.dtype]).toEqual([raster.width * 2, raster.height * 2, 'uint8']);
    let diff = 0;
    for (let i = 0; i < whole.raster.data.length; i++) diff += Math.abs(whole.raster.data[i]! - tiled.raster.data[i]!);
    // Encoder features and the upsampling are exact per tile (margin); only the denoiser's 3x3 context differs.
    expect(diff / whole.raster.data.length).toBeLessThan(1);
    // Every output pixel is near its low-resolution source pixel (bicubic plus a small residual).
    const w = raster.width;
    let far = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < raster.height * 2; y++)
        for (let x = 0; x < w * 2; x++) {
          const o = whole.raster.data[c * 4 * raster.height * w + y * 2 * w + x]!;
          const s = raster.data[c * raster.height * w + (y >> 1) * w + (x >> 1)]!;
          if (Math.abs(o - s) > 64) far++;
        }
    expect(far / whole.raster.data.length).toBeLessThan(0.02);
  });

  it('feeds the encoder the context its manifest asks for (tile.contextMargin)', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    // The same tiny model with contextMargin 0: the encoder zero-pads at the image border instead of reading
    // reflected context there. Tiles are encoded in blocks (core's encoder-residual tests), so borders are where it shows.
    const folder = await mkdtemp(path.join(tmpdir(), 'diffusekit-margin-'));
    const modelDir = path.join(folder, 'tiny-srdiff-x2');
    await cp(path.join(ROOT, 'test', 'models', 'tiny-srdiff-x2'), modelDir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8'));
    manifest.tile.contextMargin = 0;
    await writeFile(path.join(modelDir, 'model.json'), JSON.stringify(manifest));
    const noContext = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [folder], plugins: [sr3Plugin] });
    try {
      const withContext = await (await loadSrdiff()).run(raster, { steps: 1 });
      const without = await (await noContext.load<Raster, unknown, ImageTaskResult>('srdiff', { model: 'tiny-srdiff-x2' })).run(raster, { steps: 1 });
      const { width, height } = withContext.raster;
      const sums = { border: 0, borderN: 0, interior: 0, interiorN: 0 };
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            const i = (c * height + y) * width + x;
            const d = Math.abs(withContext.raster.data[i]! - without.raster.data[i]!);
            if (Math.min(x, y, width - 1 - x, height - 1 - y) < 4) (sums.border += d), sums.borderN++;
            else (sums.interior += d), sums.interiorN++;
          }
      expect(sums.border / sums.borderN).toBeGreaterThan(0.5);
      expect(sums.border / sums.borderN).toBeGreaterThan(2 * (sums.interior / sums.interiorN));
    } finally {
      await noContext.close();
    }
  });

  it('is chosen by diffusekit models for srdiff manifests only', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    await expect(srdiffRuntime.load('sr3', { model: 'tiny-srdiff-x2' })).rejects.toMatchObject({ code: 'MODEL_INCOMPATIBLE' });
    const out = await (await loadSrdiff()).run(raster, { steps: 1 });
    expect(out.info?.scale).toBe(2);
  });
});
