import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
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

  it('chooses a read-out on validation images and trains with it (--readout), or with --outputs/--timesteps', async () => {
    const split = path.join(dir, 'split');
    for (const [part, names] of [['train', ['drycrop', 'cerrado-scrub']], ['val', ['california-golf']]] as const) {
      for (const kind of ['images', 'masks']) await mkdir(path.join(split, part, kind), { recursive: true });
      for (const name of names) {
        await copyFile(path.join(SEGMENT, 'images', `${name}.png`), path.join(split, part, 'images', `${name}.png`));
        await copyFile(path.join(SEGMENT, 'masks', `${name}.png`), path.join(split, part, 'masks', `${name}.png`));
      }
    }
    const readoutFile = path.join(dir, 'readout.json');
    const selected = await cli('segment', 'select', '--images', path.join(split, 'train', 'images'), '--masks', path.join(split, 'train', 'masks'),
      '--val-images', path.join(split, 'val', 'images'), '--val-masks', path.join(split, 'val', 'masks'), '--backbone', 'tiny-ddpm-features',
      '--timesteps', '50,400', '--members', '2', '--max-pixels', '2000', '--json', '-o', readoutFile);
    expect(selected.code).toBe(0);
    const events = jsonLines(selected.stdout);
    expect(events[0]).toMatchObject({ event: 'start', trainImages: 2, validationImages: 1, backbone: 'tiny-ddpm-features' });
    const candidates = events.filter((e) => e.event === 'candidate');
    expect(candidates).toHaveLength(9);
    const written = JSON.parse(await readFile(readoutFile, 'utf8'));
    expect(written).toMatchObject({ kind: 'diffusekit-segment-readout', backbone: { id: 'tiny-ddpm-features' }, selection: { trainImages: 2, validationImages: 1, metric: 'mIoU' } });
    expect(written.selection.tried).toHaveLength(9);
    const best = candidates.reduce((a, b) => ((b.meanIou as number) > (a.meanIou as number) ? b : a));
    expect({ outputs: written.outputs, timesteps: written.timesteps }).toEqual({ outputs: best.outputs, timesteps: best.timesteps });

    const withReadout = path.join(dir, 'with-readout');
    const trained = await cli('segment', 'train', '--images', path.join(split, 'train', 'images'), '--masks', path.join(split, 'train', 'masks'),
      '--readout', readoutFile, '--members', '2', '--epochs', '1', '--max-pixels', '1000', '--json', '-o', withReadout);
    expect(trained.code).toBe(0);
    expect(jsonLines(trained.stdout)[0]).toMatchObject({ event: 'start', backbone: 'tiny-ddpm-features', outputs: written.outputs, timesteps: written.timesteps });
    const manifest = JSON.parse(await readFile(path.join(withReadout, 'ensemble.json'), 'utf8'));
    expect(manifest.backbone).toMatchObject({ id: 'tiny-ddpm-features', outputs: written.outputs, timesteps: written.timesteps });

    const explicit = path.join(dir, 'explicit');
    const byFlags = await cli('segment', 'train', '--images', path.join(split, 'train', 'images'), '--masks', path.join(split, 'train', 'masks'),
      '--backbone', 'tiny-ddpm-features', '--outputs', 'dec_s4,dec_s1', '--timesteps', '400', '--members', '2', '--epochs', '1', '--max-pixels', '1000', '-o', explicit);
    expect(byFlags.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(explicit, 'ensemble.json'), 'utf8')).backbone).toMatchObject({ outputs: ['dec_s4', 'dec_s1'], timesteps: [400] });
    // The ensemble predicts with its own read-out although the backbone's default is another.
    const predicted = await cli('segment', 'predict', explicit, path.join(split, 'val', 'images'), '-o', path.join(dir, 'explicit-out'));
    expect(predicted.code).toBe(0);
  });

  it('refuses a read-out that does not fit, with a code, and contradictory flags as wrong usage', async () => {
    const images = ['--images', path.join(SEGMENT, 'images'), '--masks', path.join(SEGMENT, 'masks')];
    const out = ['-o', path.join(dir, 'refused')];
    const unknown = await cli('segment', 'train', ...images, '--backbone', 'tiny-ddpm-features', '--outputs', 'dec_s8', ...out);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('INVALID_OPTION');
    expect(unknown.stderr).toContain('dec_s8');
    const notReadout = path.join(dir, 'not-a-readout.json');
    await writeFile(notReadout, JSON.stringify({ outputs: ['dec_s1'] }));
    const bad = await cli('segment', 'train', ...images, '--readout', notReadout, ...out);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_OPTION');
    const otherBackbone = await cli('segment', 'train', ...images, '--readout', path.join(dir, 'readout.json'), '--backbone', 'tiny-ddpm', ...out);
    expect(otherBackbone.code).toBe(1);
    expect(otherBackbone.stderr).toContain('tiny-ddpm-features');
    expect((await cli('segment', 'train', ...images, '--readout', notReadout, '--timesteps', '50', ...out)).code).toBe(2);
    expect((await cli('segment', 'select', ...images, ...out)).code).toBe(2);
    expect((await cli('segment', 'train', ...images, '--timesteps', '5.5', ...out)).code).toBe(2);
  });
});
