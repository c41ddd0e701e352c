import { copyFile, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createRaster, readImageFile, writeImageFile, type Raster } from '@diffusekit/core';
import { runCli } from '@diffusekit/plugins';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-palette-inpaint', '--steps', '2'];

/** Writes an 8-bit grey PNG mask: white inside the box, black elsewhere. */
async function writeMask(file: string, width: number, height: number, box: { x: number; y: number; w: number; h: number }): Promise<void> {
  const mask = createRaster({ width, height, bands: 1, dtype: 'uint8' });
  for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + box.w; x++) mask.data[y * width + x] = 255;
  await writeImageFile(file, mask);
}

/** Samples that differ inside and outside the box. */
function changes(a: Raster, b: Raster, box: { x: number; y: number; w: number; h: number }): { inside: number; outside: number } {
  const pixels = a.width * a.height;
  let inside = 0;
  let outside = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = (i % pixels) % a.width;
    const y = Math.floor((i % pixels) / a.width);
    const inBox = x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h;
    if (a.data[i] !== b.data[i]) (inBox ? inside++ : outside++);
  }
  return { inside, outside };
}

describe('diffusekit restore --task inpaint', () => {
  const box = { x: 20, y: 12, w: 30, h: 20 };

  it('fills the masked part of a real photo crop and leaves every other pixel as it was', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-inpaint-'));
    await writeMask(path.join(dir, 'mask.png'), 96, 64, box);
    const output = path.join(dir, 'filled.png');
    const { code, stdout } = await cli('restore', path.join(FIXTURES, 'photo.png'), '-o', output, '--task', 'inpaint', '--mask', path.join(dir, 'mask.png'), ...MODEL, '--resample', '2', '--json');
    expect(code).toBe(0);
    const done = jsonLines(stdout).find((e) => e.type === 'file-done')!;
    expect(done.info).toMatchObject({ model: 'tiny-palette-inpaint', filledPixels: 30 * 20, resample: 2 });
    const original = (await readImageFile(path.join(FIXTURES, 'photo.png'))).raster;
    const { raster, format } = await readImageFile(output);
    expect([format, raster.width, raster.height, raster.bands, raster.dtype]).toEqual(['png', 96, 64, 3, 'uint8']);
    const changed = changes(raster, original, box);
    expect(changed.outside).toBe(0);
    expect(changed.inside).toBeGreaterThan(0);
  });

  it('with --window cuts the mask to the same window as the image', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-inpaint-'));
    await writeMask(path.join(dir, 'mask.png'), 96, 64, box);
    const output = path.join(dir, 'part.png');
    const { code } = await cli('restore', path.join(FIXTURES, 'photo.png'), '-o', output, '--task', 'inpaint', '--mask', path.join(dir, 'mask.png'), ...MODEL, '--window', '16,8,48,32');
    expect(code).toBe(0);
    const photo = (await readImageFile(path.join(FIXTURES, 'photo.png'))).raster;
    const part = (await readImageFile(output)).raster;
    expect([part.width, part.height]).toEqual([48, 32]);
    // Inside the window the box lies at (4, 4); every pixel outside it is the photo's, moved by the window origin.
    const original = createRaster({ width: 48, height: 32, bands: photo.bands, dtype: 'uint8' });
    for (let b = 0; b < photo.bands; b++)
      for (let y = 0; y < 32; y++) for (let x = 0; x < 48; x++) original.data[(b * 32 + y) * 48 + x] = photo.data[(b * 64 + y + 8) * 96 + x + 16]!;
    const { inside, outside } = changes(part, original, { x: 4, y: 4, w: 30, h: 20 });
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(0);
  });

  it('takes a folder of masks named like the inputs; an input without a mask fails alone and --resume skips the rest', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-inpaint-'));
    const inputs = path.join(dir, 'in');
    const masks = path.join(dir, 'masks');
    await mkdir(path.join(inputs, 'sub'), { recursive: true });
    await mkdir(path.join(masks, 'sub'), { recursive: true });
    await copyFile(path.join(FIXTURES, 'photo.png'), path.join(inputs, 'photo.png'));
    await copyFile(path.join(FIXTURES, 'sp27gtif-crop.tif'), path.join(inputs, 'sub', 'aerial.tif'));
    await copyFile(path.join(FIXTURES, 'photo.jpg'), path.join(inputs, 'unmasked.jpg'));
    await writeMask(path.join(masks, 'photo.png'), 96, 64, box);
    await writeMask(path.join(masks, 'sub', 'aerial.png'), 96, 80, box); // another extension than its input
    const out = path.join(dir, 'out');
    const first = await cli('restore', inputs, '-o', out, '--task', 'inpaint', '--mask', masks, ...MODEL, '--json');
    expect(first.code).toBe(1);
    const events = jsonLines(first.stdout);
    const failed = events.filter((e) => e.type === 'file-error');
    expect(failed).toEqual([expect.objectContaining({ file: path.join(inputs, 'unmasked.jpg'), code: 'MASK_MISSING' })]);
    expect(existsSync(path.join(out, 'photo.png'))).toBe(true);
    const aerial = await readImageFile(path.join(out, 'sub', 'aerial.tif'));
    const source = await readImageFile(path.join(inputs, 'sub', 'aerial.tif'));
    expect(aerial.format).toBe('geotiff');
    expect(aerial.raster.geo).toEqual(source.raster.geo);
    expect(changes(aerial.raster, source.raster, box).outside).toBe(0);
    const again = await cli('restore', inputs, '-o', out, '--task', 'inpaint', '--mask', masks, ...MODEL, '--json', '--resume');
    expect(jsonLines(again.stdout).filter((e) => e.type === 'file-skip')).toHaveLength(2);
  });

  it('reports a mask of the wrong size or with nothing to fill by its code and writes nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-inpaint-'));
    await writeMask(path.join(dir, 'small.png'), 32, 32, { x: 0, y: 0, w: 8, h: 8 });
    await writeMask(path.join(dir, 'empty.png'), 96, 64, { x: 0, y: 0, w: 0, h: 0 });
    for (const [mask, code] of [['small.png', 'MASK_SIZE_MISMATCH'], ['empty.png', 'MASK_EMPTY']] as const) {
      const output = path.join(dir, `out-${code}.png`);
      const result = await cli('restore', path.join(FIXTURES, 'photo.png'), '-o', output, '--task', 'inpaint', '--mask', path.join(dir, mask), ...MODEL);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(code);
      expect(existsSync(output)).toBe(false);
    }
  });

  it('leaves no output file, finished or temporary, when aborted mid-run', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-inpaint-'));
    await writeMask(path.join(dir, 'mask.png'), 96, 64, box);
    const outDir = path.join(dir, 'out');
    const controller = new AbortController();
    const stdout = new Writable({
      write(chunk: Buffer, _e, done) {
        if (chunk.toString().includes('"kind":"step"')) controller.abort();
        done();
      },
    });
    const stderr = new Writable({ write: (_c, _e, done) => done() });
    const code = await runCli(
      ['restore', path.join(FIXTURES, 'photo.png'), '-o', outDir, '--task', 'inpaint', '--mask', path.join(dir, 'mask.png'), '--model', 'tiny-palette-inpaint', '--steps', '40', '--json'],
      { stdout, stderr },
      { signal: controller.signal },
    );
    expect(code).toBe(1);
    expect(controller.signal.aborted).toBe(true);
    expect(existsSync(outDir) ? await readdir(outDir) : []).toEqual([]);
  });

  it('is wrong usage without --mask, with an unknown --task, or with --mask for JPEG restoration', async () => {
    const photo = path.join(FIXTURES, 'photo.png');
    expect((await cli('restore', photo, '-o', '/tmp/x.png', '--task', 'inpaint')).code).toBe(2);
    expect((await cli('restore', photo, '-o', '/tmp/x.png', '--task', 'deblur')).code).toBe(2);
    const jpeg = await cli('restore', photo, '-o', '/tmp/x.png', '--mask', photo);
    expect([jpeg.code, jpeg.stderr]).toEqual([2, expect.stringContaining('--mask is for --task inpaint')]);
  });
});
