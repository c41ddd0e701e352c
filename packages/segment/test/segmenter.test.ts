import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRaster, createRng, createRuntime, readImageFile, type Rect } from '@diffusekit/core';
import {
  DenseEnsembleHead,
  EnsembleClassifier,
  Segmenter,
  featureTiles,
  initialWeights,
  labelsFromMask,
  listLabelledImages,
  loadEnsemble,
  openFeatureBackbone,
  parseLabelPalette,
  pixelFeatures,
  readLabelPalette,
  saveEnsemble,
  trainSegmenter,
  backboneInput,
} from '@diffusekit/segment';
import { FIXTURES, ROOT, fixtureImages } from './segment-fixtures.js';

const runtime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')] });
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'diffusekit-segment-'));
});
afterAll(async () => {
  await runtime.close();
  await rm(scratch, { recursive: true, force: true });
});

const backbone = async () => openFeatureBackbone(runtime.engine, await runtime.catalog.resolve('tiny-ddpm'));
/** Feature maps at 1, 1/2 and 1/4 of the input, two timesteps. */
const multiScale = async () => openFeatureBackbone(runtime.engine, await runtime.catalog.resolve('tiny-ddpm-features'));
describe('label masks', () => {
  it('reads colour masks through the palette into the same labels as class-index masks', async () => {
    const palette = await readLabelPalette(path.join(FIXTURES, 'palette.json'));
    for (const name of ['drycrop', 'cerrado-scrub']) {
      const image = (await readImageFile(path.join(FIXTURES, 'images', `${name}.png`))).raster;
      const index = labelsFromMask((await readImageFile(path.join(FIXTURES, 'masks', `${name}.png`))).raster, image, palette, name);
      const colour = labelsFromMask((await readImageFile(path.join(FIXTURES, 'colour-masks', `${name}.png`))).raster, image, palette, name);
      expect(colour).toEqual(index);
      expect(new Set(index)).toEqual(new Set([0, 1]));
    }
  });

  it('names unknown colours, a wrong size and a colour mask without palette with LABEL_MASK_INVALID', async () => {
    const palette = parseLabelPalette({ classes: [{ name: 'other', color: '#000000' }, { name: 'trees', color: [30, 154, 50] }] });
    const rgb = (w: number, h: number, fill: [number, number, number]) =>
      createRaster({ width: w, height: h, bands: 3, dtype: 'uint8', data: Uint8Array.from({ length: 3 * w * h }, (_, i) => fill[Math.floor(i / (w * h))]!) });
    expect(() => labelsFromMask(rgb(4, 4, [200, 10, 10]), { width: 4, height: 4 }, palette, 'm.png')).toThrow(expect.objectContaining({ code: 'LABEL_MASK_INVALID', message: expect.stringContaining('#c80a0a (16 px)') }));
    expect(() => labelsFromMask(rgb(4, 4, [0, 0, 0]), { width: 8, height: 4 }, palette, 'm.png')).toThrow(expect.objectContaining({ code: 'LABEL_MASK_INVALID', message: expect.stringContaining('4×4 but its image is 8×4') }));
    expect(() => labelsFromMask(rgb(4, 4, [30, 154, 50]), { width: 4, height: 4 }, undefined, 'm.png')).toThrow(expect.objectContaining({ code: 'LABEL_MASK_INVALID' }));
    const index = createRaster({ width: 2, height: 1, bands: 1, dtype: 'uint8', data: Uint8Array.of(1, 7) });
    expect(() => labelsFromMask(index, { width: 2, height: 1 }, palette, 'm.png')).toThrow(expect.objectContaining({ code: 'LABEL_MASK_INVALID' }));
    expect(Array.from(labelsFromMask(createRaster({ width: 2, height: 1, bands: 1, dtype: 'uint8', data: Uint8Array.of(1, 255) }), { width: 2, height: 1 }, palette, 'm.png'))).toEqual([1, 255]);
  });

  it('refuses an image folder with an image that has no mask', async () => {
    const dir = await mkdtemp(path.join(scratch, 'pairs-'));
    await writeFile(path.join(dir, 'extra.png'), await readFile(path.join(FIXTURES, 'images', 'drycrop.png')));
    await expect(listLabelledImages(dir, path.join(FIXTURES, 'masks'))).rejects.toMatchObject({ code: 'TRAINING_DATA_INVALID' });
  });
});

describe('feature tiles', () => {
  it('give every pixel to exactly one tile, and pixel features equal the tile samples', async () => {
    const b = await multiScale();
    const { raster } = await readImageFile(path.join(FIXTURES, 'images', 'drycrop.png'));
    const image = backboneInput(raster, b);
    const owner = new Int32Array(64 * 64).fill(-1);
    const owned: Rect[] = [];
    const xs = Int32Array.of(0, 63, 17, 40, 31, 32);
    const ys = Int32Array.of(0, 63, 50, 3, 31, 32);
    const dense = new Float32Array(xs.length * b.dim);
    for await (const tile of featureTiles(b, image, { seed: 3, tile: 24, overlap: 8 })) {
      owned.push(tile.owned);
      const { x, y, width, height } = tile.owned;
      for (let yy = y; yy < y + height; yy++) for (let xx = x; xx < x + width; xx++) {
        expect(owner[yy * 64 + xx]).toBe(-1);
        owner[yy * 64 + xx] = owned.length - 1;
      }
      xs.forEach((px, i) => {
        const py = ys[i]!;
        if (px >= x && px < x + width && py >= y && py < y + height) {
          const row = new Float32Array(b.dim);
          tile.sample([px], [py], row);
          dense.set(row, i * b.dim);
        }
      });
    }
    expect(owned.length).toBeGreaterThan(4);
    expect(owner.every((v) => v >= 0)).toBe(true);
    expect(await pixelFeatures(b, image, xs, ys, { seed: 3, tile: 24, overlap: 8 })).toEqual(dense);
    // Another seed is another noise field, hence other features.
    expect(await pixelFeatures(b, image, xs, ys, { seed: 4, tile: 24, overlap: 8 })).not.toEqual(dense);
  });
});

describe('dense ensemble head', () => {
  it('equals sampling the features of every pixel and running the classifier (first layer before upsampling)', async () => {
    const b = await multiScale();
    expect(b.outputs.map((o) => o.stride)).toEqual([1, 2, 4]);
    const rng = createRng(21);
    const weights = initialWeights(3, b.dim, [8, 4], 3, rng);
    // Weights above the init scale, and running statistics away from (0, 1), so every term matters (but the softmax
    // must not saturate, or differences would vanish: checked below).
    for (const t of Object.values(weights.tensors)) t.forEach((v, i, a) => (a[i] = v * 5 + 0.2 * (rng.uniform() - 0.5)));
    for (const name of ['var1', 'var2'] as const) weights.tensors[name].forEach((v, i, a) => (a[i] = 0.5 + Math.abs(v)));
    const classifier = await EnsembleClassifier.open(runtime.engine, weights);
    const head = new DenseEnsembleHead(runtime.engine, weights, b.outputs, b.timesteps.length);
    const { raster } = await readImageFile(path.join(FIXTURES, 'images', 'cerrado-scrub.png'));
    let checked = 0;
    for await (const tile of featureTiles(b, backboneInput(raster, b), { seed: 1, tile: 32, overlap: 8 })) {
      const { rect } = tile;
      const dense = await head.probabilities(tile.outputs.map((o) => o.data), rect.height, rect.width);
      const n = rect.width * rect.height;
      const pixels = [0, 5, 31, 32 * 7 + 3, n - 1].filter((p) => p < n);
      const xs = pixels.map((p) => rect.x + (p % rect.width));
      const ys = pixels.map((p) => rect.y + Math.floor(p / rect.width));
      const rows = new Float32Array(pixels.length * b.dim);
      tile.sample(xs, ys, rows);
      const sampled = await classifier.probabilities(rows, pixels.length);
      expect(Array.from(sampled).filter((q) => q > 0.05 && q < 0.95).length).toBeGreaterThan(sampled.length / 2);
      for (let m = 0; m < 3; m++) {
        pixels.forEach((p, i) => {
          for (let c = 0; c < 3; c++) expect(dense[(m * n + p) * 3 + c]).toBeCloseTo(sampled[(m * pixels.length + i) * 3 + c]!, 4);
        });
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(1);
  });
});

describe('Segmenter', () => {
  it('trains on labelled images, saves, loads and predicts exactly as before saving', async () => {
    const b = await backbone();
    const images = await fixtureImages();
    const trained = await trainSegmenter(images, {
      engine: runtime.engine,
      backbone: b,
      classes: (await readLabelPalette(path.join(FIXTURES, 'palette.json'))).classes,
      members: 3,
      maxEpochs: 2,
      maxPixels: 2000,
      tile: 32,
      seed: 9,
    });
    expect(trained.manifest.training.labelledPixels).toBe(2000);
    expect(trained.manifest.backbone).toMatchObject({ id: 'tiny-ddpm', dim: b.dim, timesteps: [50, 150] });
    const inMemory = await Segmenter.create(runtime.engine, b, trained.manifest, trained.weights);
    const folder = path.join(scratch, 'ensemble');
    await saveEnsemble(folder, trained.manifest, trained.weights);
    const loaded = await Segmenter.load(runtime.engine, runtime.catalog, folder);
    const raster = images[0]!.raster;
    const a = await inMemory.segment(raster, { tile: 32 });
    const c = await loaded.segment(raster, { tile: 32 });
    expect(c.labels).toEqual(a.labels);
    expect(c.entropy).toEqual(a.entropy);
    expect(a.labels.length).toBe(64 * 64);
    expect(Math.max(...a.entropy)).toBeLessThanOrEqual(Math.log(2) + 1e-6);

    // Nodata pixels come out unlabelled (255): the first 10 pixels are 0 in every band.
    const withNodata = createRaster({ ...raster, data: Uint8Array.from(raster.data as Uint8Array), nodata: 0 });
    for (let band = 0; band < 3; band++) (withNodata.data as Uint8Array).fill(0, band * 64 * 64, band * 64 * 64 + 10);
    const masked = await loaded.segment(withNodata, { tile: 32 });
    expect(Array.from(masked.labels.subarray(0, 10))).toEqual(new Array(10).fill(255));
  });

  it('keeps the read-out an ensemble was trained with, whatever the manifest now lists', async () => {
    const model = await runtime.catalog.resolve('tiny-ddpm-features');
    const readout = { outputs: ['dec_s4', 'dec_s1'], timesteps: [400] };
    const b = await openFeatureBackbone(runtime.engine, model, readout);
    expect(b.outputs.map((o) => o.role)).toEqual(['dec_s4', 'dec_s1']);
    expect(b.timesteps).toEqual([400]);
    const full = await multiScale();
    expect(b.dim).toBe(full.outputs.filter((o) => o.role !== 'dec_s2').reduce((s, o) => s + o.channels, 0));
    const images = await fixtureImages();
    const classes = (await readLabelPalette(path.join(FIXTURES, 'palette.json'))).classes;
    const trained = await trainSegmenter(images, { engine: runtime.engine, backbone: b, classes, members: 2, maxEpochs: 1, maxPixels: 1000, tile: 32 });
    expect(trained.manifest.backbone).toMatchObject({ outputs: ['dec_s4', 'dec_s1'], timesteps: [400], dim: b.dim });
    const folder = path.join(scratch, 'readout');
    await saveEnsemble(folder, trained.manifest, trained.weights);
    const loaded = await Segmenter.load(runtime.engine, runtime.catalog, folder);
    const inMemory = await Segmenter.create(runtime.engine, b, trained.manifest, trained.weights);
    const raster = images[0]!.raster;
    expect((await loaded.segment(raster, { tile: 32 })).labels).toEqual((await inMemory.segment(raster, { tile: 32 })).labels);
    // The manifest's default read-out is another one: binding the ensemble to it is refused, not silently wrong.
    await expect(Segmenter.create(runtime.engine, full, trained.manifest, trained.weights)).rejects.toMatchObject({ code: 'BACKBONE_MISMATCH' });
  });

  it('refuses a read-out the backbone cannot give', async () => {
    const model = await runtime.catalog.resolve('tiny-ddpm-features');
    await expect(openFeatureBackbone(runtime.engine, model, { outputs: ['dec_s8'] })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('dec_s8') });
    await expect(openFeatureBackbone(runtime.engine, model, { outputs: [] })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(openFeatureBackbone(runtime.engine, model, { timesteps: [1000] })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('1000') });
    await expect(openFeatureBackbone(runtime.engine, model, { timesteps: [2.5] })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('refuses damaged weights and an ensemble trained on another backbone', async () => {
    const folder = path.join(scratch, 'ensemble');
    const { manifest, weights } = await loadEnsemble(folder);
    const damaged = path.join(scratch, 'damaged');
    await saveEnsemble(damaged, manifest, weights);
    const bytes = await readFile(path.join(damaged, 'weights.bin'));
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(path.join(damaged, 'weights.bin'), bytes);
    await expect(loadEnsemble(damaged)).rejects.toMatchObject({ code: 'ENSEMBLE_INVALID' });
    await expect(loadEnsemble(path.join(scratch, 'nothing-here'))).rejects.toMatchObject({ code: 'ENSEMBLE_INVALID' });

    const other = { ...manifest, backbone: { ...manifest.backbone, sha256: 'a'.repeat(64) } };
    await expect(Segmenter.create(runtime.engine, await backbone(), other, weights)).rejects.toMatchObject({ code: 'BACKBONE_MISMATCH' });
    const renamed = path.join(scratch, 'renamed');
    await saveEnsemble(renamed, { ...manifest, backbone: { ...manifest.backbone, id: 'tiny-sr3-x2' } }, weights);
    await expect(Segmenter.load(runtime.engine, runtime.catalog, renamed)).rejects.toMatchObject({ code: 'BACKBONE_MISMATCH' });
  });
});
