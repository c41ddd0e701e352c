import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRaster, createRuntime, isDiffusekitError, readImageFile, type DType, type ImageTaskResult, type Raster } from '@diffusekit/core';
import { binariseMask, palettePlugin, type InpaintInput } from '@diffusekit/palette';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const runtime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')], plugins: [palettePlugin] });
const load = () => runtime.load<InpaintInput, unknown, ImageTaskResult>('palette-inpaint', { model: 'tiny-palette-inpaint' });

afterAll(() => runtime.close());

/** A one-band mask of the given dtype: `fill` inside the rectangle, 0 elsewhere. */
function boxMask(width: number, height: number, box: { x: number; y: number; w: number; h: number }, dtype: DType = 'uint8', fill = 255): Raster {
  const mask = createRaster({ width, height, bands: 1, dtype });
  for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + box.w; x++) mask.data[y * width + x] = fill;
  return mask;
}

/** Counts samples that differ between two rasters of one shape, inside and outside a 0/1 mask. */
function changes(a: Raster, b: Raster, mask: Uint8Array): { inside: number; outside: number } {
  const pixels = a.width * a.height;
  let inside = 0;
  let outside = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) (mask[i % pixels] ? inside++ : outside++);
  return { inside, outside };
}

async function caught(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(isDiffusekitError(error)).toBe(true);
    return error as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('palette-inpaint task', () => {
  it('fills the hole of a real photo crop and returns every other pixel bit for bit', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const mask = boxMask(raster.width, raster.height, { x: 30, y: 20, w: 24, h: 16 });
    const progress: string[] = [];
    // Tiles of 32 on a 96x64 image: the fill spans tile borders.
    const out = await (await load()).run({ image: raster, mask }, { steps: 3, tile: 32, seed: 1 }, { onProgress: (p) => progress.push(p.kind) });
    expect([out.raster.width, out.raster.height, out.raster.bands, out.raster.dtype, out.raster.sourceFormat]).toEqual([96, 64, 3, 'uint8', 'png']);
    const holes = binariseMask(mask, raster);
    const changed = changes(out.raster, raster, holes);
    expect(changed.outside).toBe(0);
    expect(changed.inside).toBeGreaterThan(0.5 * 24 * 16 * 3);
    expect(out.info).toMatchObject({ filledPixels: 24 * 16, resample: 1, steps: 3 });
    expect(progress.filter((k) => k === 'step')).toHaveLength(3);
  });

  it('keeps 16-bit grey 16-bit, fills under a 16-bit mask and keeps the rest exactly', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'gray16.png'));
    const mask = boxMask(raster.width, raster.height, { x: 8, y: 40, w: 40, h: 12 }, 'uint16', 65535);
    const out = await (await load()).run({ image: raster, mask }, { steps: 2 });
    expect([out.raster.bands, out.raster.dtype]).toEqual([1, 'uint16']);
    const changed = changes(out.raster, raster, binariseMask(mask, raster));
    expect(changed.outside).toBe(0);
    expect(changed.inside).toBeGreaterThan(0);
  });

  it('resampling changes the fill, is seeded, and still keeps the known pixels', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const mask = boxMask(raster.width, raster.height, { x: 10, y: 10, w: 20, h: 20 });
    const task = await load();
    const once = await task.run({ image: raster, mask }, { steps: 2, seed: 3 });
    const twice = await task.run({ image: raster, mask }, { steps: 2, seed: 3, resample: 3 });
    const again = await task.run({ image: raster, mask }, { steps: 2, seed: 3, resample: '3' });
    const holes = binariseMask(mask, raster);
    expect(changes(twice.raster, raster, holes).outside).toBe(0);
    expect(changes(twice.raster, once.raster, holes).inside).toBeGreaterThan(0);
    expect(Buffer.from(again.raster.data.buffer).equals(Buffer.from(twice.raster.data.buffer))).toBe(true);
    expect(twice.info?.resample).toBe(3);
  });

  it('refuses a missing, wrong-size or empty mask with documented codes before any inference', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const task = await load();
    expect((await caught(task.run({ image: raster } as InpaintInput, {}))).code).toBe('MASK_MISSING');
    const wrong = await caught(task.run({ image: raster, mask: boxMask(64, 64, { x: 0, y: 0, w: 8, h: 8 }) }, {}));
    expect([wrong.code, wrong.message]).toEqual(['MASK_SIZE_MISMATCH', expect.stringContaining('96x64')]);
    const empty = await caught(task.run({ image: raster, mask: boxMask(96, 64, { x: 0, y: 0, w: 8, h: 8 }, 'uint8', 127) }, {}));
    expect(empty.code).toBe('MASK_EMPTY');
    expect((await caught(task.run({ image: raster, mask: boxMask(96, 64, { x: 0, y: 0, w: 8, h: 8 }) }, { resample: 0 }))).code).toBe('INVALID_OPTION');
  });

  it('stops with ABORTED when the signal fires', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const controller = new AbortController();
    const run = (await load()).run(
      { image: raster, mask: boxMask(96, 64, { x: 0, y: 0, w: 30, h: 30 }) },
      { steps: 50 },
      { signal: controller.signal, onProgress: (p) => p.kind === 'step' && p.step === 2 && controller.abort() },
    );
    expect((await caught(run)).code).toBe('ABORTED');
  });
});

describe('binariseMask', () => {
  const image = createRaster({ width: 4, height: 1, bands: 3, dtype: 'uint8' });
  it('fills where the brightest band reaches half scale, for any dtype and band count', () => {
    const rgb = createRaster({ width: 4, height: 1, bands: 3, dtype: 'uint8', data: Uint8Array.from([0, 200, 0, 127, 0, 0, 128, 0, 0, 0, 0, 0]) });
    expect([...binariseMask(rgb, image)]).toEqual([0, 1, 1, 0]);
    const float = createRaster({ width: 4, height: 1, bands: 1, dtype: 'float32', data: Float32Array.from([0.49, 0.5, 1, -1]) });
    expect([...binariseMask(float, image)]).toEqual([0, 1, 1, 0]);
    const int16 = createRaster({ width: 4, height: 1, bands: 1, dtype: 'int16', data: Int16Array.from([16383, 16384, 32767, -32768]) });
    expect([...binariseMask(int16, image)]).toEqual([0, 1, 1, 0]);
  });

  it('keeps pixels that a mask with alpha leaves transparent, whatever their colour', () => {
    const greyAlpha = createRaster({ width: 4, height: 1, bands: 2, dtype: 'uint8', sourceFormat: 'png', data: Uint8Array.from([255, 255, 0, 255, 255, 0, 255, 0]) });
    expect([...binariseMask(greyAlpha, image)]).toEqual([1, 0, 0, 0]);
  });
});
