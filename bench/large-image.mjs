// Peak memory and time of a super-resolution run on large inputs, each size in its own process so that every peak
// RSS is that size's alone: decode is skipped (the input is made in memory), the output is encoded to a PNG file.
// Usage: node bench/large-image.mjs [--sizes 512,1024,2048] [--steps 1] [--model sr3-x4] [--task sr3]
// Memory does not depend on the step count (every step holds the same buffers), so the default of one step keeps the
// 2048² case (an 8192² output, 67 megapixels) affordable on a small machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, writeImageFile } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, fmt, machine, mirroredSample, table } from './lib.mjs';

const steps = Number(arg('steps', '1'));
const modelId = arg('model', 'sr3-x4');
const taskId = arg('task', 'sr3');

async function child(size, outFile) {
  const input = await mirroredSample(size);
  const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [sr3Plugin] });
  const sr = await runtime.load(taskId, { model: modelId });
  const t0 = performance.now();
  const out = await sr.run(input, { steps, seed: 0 });
  const sampleSeconds = (performance.now() - t0) / 1000;
  await writeImageFile(outFile, out.raster, { format: 'png' });
  await runtime.close();
  const result = { size, outWidth: out.raster.width, sampleSeconds, totalSeconds: (performance.now() - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv.includes('--child')) {
  await child(Number(arg('child', '512')), arg('out', ''));
} else {
  const sizes = arg('sizes', '512,1024,2048').split(',').map(Number);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'diffusekit-large-'));
  const rows = [];
  const measured = [];
  try {
    for (const size of sizes) {
      const outFile = path.join(dir, `out-${size}.png`);
      const args = [fileURLToPath(import.meta.url), '--child', String(size), '--out', outFile, '--steps', String(steps), '--model', modelId, '--task', taskId];
      const r = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 }).trim());
      const megapixels = (r.outWidth * r.outWidth) / 1e6;
      measured.push({ pixels: r.outWidth * r.outWidth, rssMiB: r.maxRssMiB });
      rows.push([`${size}²`, `${r.outWidth}²`, fmt(megapixels, 1), fmt(r.sampleSeconds, 0), fmt(r.sampleSeconds / megapixels, 1), fmt(r.totalSeconds - r.sampleSeconds, 1), fmt(statSync(outFile).size / 2 ** 20, 1), fmt(r.maxRssMiB, 0)]);
      rmSync(outFile);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`### Large inputs: peak memory (${modelId}, DDIM ${steps} step${steps > 1 ? 's' : ''}, CPU)\n`);
  console.log(table(['input', 'output', 'output MP', 'sampling s', 's / output MP', 'PNG encode s', 'PNG MiB', 'peak RSS (MiB)'], rows));
  if (measured.length > 1) {
    const [a, b] = [measured[0], measured[measured.length - 1]];
    const perPixel = ((b.rssMiB - a.rssMiB) * 2 ** 20) / (b.pixels - a.pixels);
    console.log(
      `\nMemory grows with the output by about ${fmt(perPixel, 0)} bytes per output pixel (between the smallest and largest size): over the whole padded output the sampler keeps x_t (float32, updated in place), the fused prediction (float32, overwritten by x0 in the step) and the fusion accumulator (float64), because overlapping tiles are fused at every step; the conditioning image and the cropped result add one float32 image each. What the engine holds is bounded by the tile batch. Until this version the sampler also kept the next x_t, a separate x0, a scratch noise field and a per-pixel weight sum: about 81 bytes per output pixel.`,
    );
  }
  console.log(`\n_Each size in a fresh process; peak RSS is that process's maximum resident set. ${machine()}._`);
}
