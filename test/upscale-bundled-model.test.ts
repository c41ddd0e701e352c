import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readImageFile } from '@diffusekit/core';
import { runCli } from '@diffusekit/plugins';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sink = (): Writable => new Writable({ write: (_c, _e, done) => done() });

/** The README's main job, in-process: the bundled sample through each bundled super-resolution model. */
describe.each(['sr3-x4', 'srdiff-x4'])('upscaling the bundled sample with the bundled %s model', (model) => {
  it('gives a 4x image whose 4x4 block means reproduce the input', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'diffusekit-e2e-'));
    const code = await runCli(['upscale', path.join(ROOT, 'samples', 'aerial-town.png'), '-o', out, '--model', model, '--steps', '1', '--threads', '2'], { stdout: sink(), stderr: sink() });
    expect(code).toBe(0);
    const input = (await readImageFile(path.join(ROOT, 'samples', 'aerial-town.png'))).raster;
    const output = (await readImageFile(path.join(out, 'aerial-town.png'))).raster;
    expect([output.width, output.height, output.bands, output.dtype]).toEqual([input.width * 4, input.height * 4, 3, 'uint8']);
    // A super-resolved image, averaged back over each 4x4 block, must land near the low-resolution input.
    let se = 0;
    const w = input.width;
    const h = input.height;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let sum = 0;
          for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += output.data[c * 16 * w * h + (4 * y + dy) * 4 * w + 4 * x + dx]!;
          se += (sum / 16 - input.data[c * w * h + y * w + x]!) ** 2;
        }
    const psnr = 10 * Math.log10((255 * 255) / (se / (3 * w * h)));
    expect(psnr).toBeGreaterThan(33); // 38.7 dB with the model of 2026-11-26
  });
});
