// Cell-by-cell processing (--grid) against one whole-image run: how different the mosaic is, compared with what another
// seed changes, and whether the cell borders show (the pixel jump across them against the interior's).
// Usage: node bench/grid.mjs [--size 256] [--cell 80] [--margin 16] [--model sr3-x4]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRaster, readImageFile, writeImageFile } from '@diffusekit/core';
import { arg, fmt, mirroredSample, table } from './lib.mjs';

const size = Number(arg('size', '256'));
const cell = Number(arg('cell', '80'));
const margin = Number(arg('margin', '16'));
const model = arg('model', 'sr3-x4');
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages', 'plugins', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'diffusekit-grid-bench-'));

try {
  // Cell lines must not fall on the mirror axes of the sample (multiples of 96 input pixels), where pixels repeat.
  const input = await mirroredSample(size);
  await writeImageFile(path.join(dir, 'in.png'), input);
  const upscale = (...args) => execFileSync(process.execPath, [cli, 'upscale', path.join(dir, 'in.png'), '--model', model, ...args], { stdio: 'pipe' });
  upscale('-o', path.join(dir, 'whole.png'));
  upscale('-o', path.join(dir, 'seed1.png'), '--seed', '1');
  upscale('-o', path.join(dir, 'grid'), '--grid', `${cell},${margin}`);

  const whole = (await readImageFile(path.join(dir, 'whole.png'))).raster;
  const other = (await readImageFile(path.join(dir, 'seed1.png'))).raster;
  const scale = whole.width / size;
  // The mosaic, put together from the cells as the VRT places them.
  const mosaic = createRaster({ width: whole.width, height: whole.height, bands: whole.bands, dtype: 'uint8' });
  const cells = readdirSync(path.join(dir, 'grid', 'in'));
  for (const name of cells) {
    const [, row, col] = /^r(\d+)c(\d+)\./.exec(name).map(Number);
    const part = (await readImageFile(path.join(dir, 'grid', 'in', name))).raster;
    for (let b = 0; b < part.bands; b++)
      for (let y = 0; y < part.height; y++)
        for (let x = 0; x < part.width; x++)
          mosaic.data[(b * whole.height + row * cell * scale + y) * whole.width + col * cell * scale + x] = part.data[(b * part.height + y) * part.width + x];
  }

  const psnr = (a, b) => {
    let se = 0;
    for (let i = 0; i < a.data.length; i++) se += (a.data[i] - b.data[i]) ** 2;
    return 10 * Math.log10((255 * 255) / (se / a.data.length));
  };
  const lines = [];
  for (let x = cell * scale; x < whole.width; x += cell * scale) lines.push(x);
  const onLine = new Set(lines);
  /** Mean absolute difference between horizontal neighbours across the given columns x (pixels x - 1 and x). */
  const jump = (r, columns) => {
    const plane = r.width * r.height;
    let sum = 0;
    let n = 0;
    for (const x of columns)
      for (let b = 0; b < r.bands; b++)
        for (let y = 0; y < r.height; y++) {
          sum += Math.abs(r.data[b * plane + y * r.width + x] - r.data[b * plane + y * r.width + x - 1]);
          n++;
        }
    return sum / n;
  };
  const interior = [];
  for (let x = 1; x < whole.width; x++) if (!onLine.has(x)) interior.push(x);
  const row = (name, r) => {
    const border = jump(r, lines);
    const inside = jump(r, interior);
    return [name, fmt(border, 2), fmt(inside, 2), fmt(border / inside, 3)];
  };

  console.log(`### Cell by cell (--grid ${cell},${margin}) against one whole-image run (${model}, ${size}² input, ${whole.width}² output)\n`);
  console.log(
    `${cells.length} cells of ${cell}² input pixels, each read with ${margin} pixels of context and cut back. Every cell is sampled on its own; the noise is keyed by pixel position, so each cell draws what a whole-image run draws at its pixels. PSNR: the mosaic against the whole-image run, beside a whole-image run with another seed. Border jump: mean absolute difference (8-bit levels) between horizontal neighbours across the vertical cell lines; interior: the same over every other column.\n`,
  );
  console.log(table(['comparison', 'PSNR (dB)'], [['mosaic vs whole (seed 0)', fmt(psnr(mosaic, whole), 1)], ['whole, seed 1 vs seed 0', fmt(psnr(other, whole), 1)]]));
  console.log('');
  console.log(table(['output', 'border jump', 'interior jump', 'ratio'], [row('whole, seed 0', whole), row('whole, seed 1', other), row('mosaic', mosaic)]));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
