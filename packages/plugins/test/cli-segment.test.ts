import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFile, writeImageFile } from '@diffusekit/core';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';

const SEGMENT = path.join(FIXTURES, 'segment');
let dir: string;
const saved = process.env.DIFFUSEKIT_MODELS;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-cli-segment-'));
  process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DIFFUSEKIT_MODELS;
  else process.env.DIFFUSEKIT_MODELS = saved;
  await rm(dir, { recursive: true, force: true });
});

describe('diffusekit segment', () => {
  const ensemble = () => path.join(dir, 'ensemble');

  it('trains an ensemble from an image folder and a colour-mask folder with a palette', async () => {
    const { code, stdout } = await cli('segment', 'train', '--images', path.join(SEGMENT, 'images'), '--masks', path.join(SEGMENT, 'colour-masks'),
      '--palette', path.join(SEGMENT, 'palette.json'), '--backbone', 'tiny-ddpm', '--members', '3', '--epochs', '2', '--max-pixels', '3000', '--json', '-o', ensemble());
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events[0]).toMatchObject({ event: 'start', images: 3, classes: ['other', 'trees'], backbone: 'tiny-ddpm' });
    expect(events.filter((e) => e.event === 'epoch').length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({ event: 'done', training: { labelledPixels: 3000, images: 3 } });
    expect((await readdir(ensemble())).sort()).toEqual(['ensemble.json', 'weights.bin']);
  });

  it('predicts label masks, overlays and uncertainty; a GeoTIFF gives a georeferenced GeoTIFF mask', async () => {
    const { raster } = await readImageFile(path.join(SEGMENT, 'images', 'drycrop.png'));
    const geo = { transform: [500000, 0.5, 0, 4200000, 0, -0.5] as [number, number, number, number, number, number], epsg: 32633 };
    const inputs = path.join(dir, 'inputs');
    await mkdir(inputs, { recursive: true });
    await writeImageFile(path.join(inputs, 'scene.tif'), { ...raster, geo }, { format: 'geotiff' });
    await writeImageFile(path.join(inputs, 'plain.png'), raster);
    const out = path.join(dir, 'predicted');
    const { code, stdout } = await cli('segment', 'predict', ensemble(), inputs, '-o', out, '--uncertainty', '--json');
    expect(code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'plain.labels.png', 'plain.overlay.png', 'plain.uncertainty.png',
      'scene.labels.tif', 'scene.overlay.png', 'scene.uncertainty.tif',
    ]);
    const labels = (await readImageFile(path.join(out, 'scene.labels.tif'))).raster;
    expect([labels.width, labels.height, labels.bands, labels.dtype]).toEqual([64, 64, 1, 'uint8']);
    expect(labels.geo?.transform).toEqual(geo.transform);
    expect(labels.geo?.epsg).toBe(32633);
    expect(Array.from(new Set(labels.data)).every((v) => v === 0 || v === 1)).toBe(true);
    expect(jsonLines(stdout).some((e) => e.type === 'file-done')).toBe(true);

    // --resume skips finished files.
    const again = await cli('segment', 'predict', ensemble(), inputs, '-o', out, '--resume', '--json');
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout).filter((e) => e.type === 'file-skip')).toHaveLength(2);
  });

  it('evaluates per-class IoU and mIoU against index masks', async () => {
    const { code, stdout } = await cli('segment', 'eval', ensemble(), '--images', path.join(SEGMENT, 'images'), '--masks', path.join(SEGMENT, 'masks'), '--json');
    expect(code).toBe(0);
    const [result] = jsonLines(stdout);
    expect(result).toMatchObject({ images: 3, classes: [{ name: 'other' }, { name: 'trees' }] });
    const { meanIou, pixelAccuracy } = result as { meanIou: number; pixelAccuracy: number };
    expect(meanIou).toBeGreaterThanOrEqual(0);
    expect(meanIou).toBeLessThanOrEqual(1);
    expect(pixelAccuracy).toBeGreaterThan(0);
  });

  it('reports a bad mask folder with its code and a missing subcommand as wrong usage', async () => {
    const bad = await cli('segment', 'train', '--images', path.join(SEGMENT, 'images'), '--masks', path.join(SEGMENT, 'colour-masks'), '--backbone', 'tiny-ddpm', '-o', path.join(dir, 'x'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('LABEL_MASK_INVALID');
    expect((await cli('segment')).code).toBe(2);
    expect((await cli('segment', 'train', '--images', 'a')).code).toBe(2);
  });
});
