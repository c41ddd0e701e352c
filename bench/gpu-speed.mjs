// Super-resolution speed per execution provider, measured side by side in one process: median seconds per output
// megapixel of a super-resolution task at its default steps and at 20 steps, for every provider that initialises,
// and how far each provider's output lies from the CPU's (same seed, same model).
// Usage: node bench/gpu-speed.mjs [--providers cpu,webgpu,cuda] [--task sr3] [--input 256] [--runs 3] [--tiles-per-call 4,16]
import { DiffusekitError, createRuntime } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, fmt, machine, median, mirroredSample, table } from './lib.mjs';

const providers = arg('providers', 'cpu,webgpu,cuda').split(',');
const taskId = arg('task', 'sr3');
const inputSize = Number(arg('input', '256'));
const runs = Number(arg('runs', '3'));
const tilesPerCallChoices = arg('tiles-per-call', '4,16').split(',').map(Number);

function difference(a, b) {
  let sum = 0;
  let max = 0;
  let squared = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    squared += d * d;
    if (d > max) max = d;
  }
  const mse = squared / a.length;
  return { mean: sum / a.length, max, psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse) };
}

const lr = await mirroredSample(inputSize);
const rows = [];
const unavailable = [];
const cpuOutputs = new Map();
for (const provider of providers) {
  const runtime = createRuntime({ engine: { provider }, plugins: [sr3Plugin] });
  let task;
  try {
    task = await runtime.load(taskId);
    await task.run(lr, { seed: 0 }); // warm-up: session creation, shader compilation, arena allocation
  } catch (error) {
    if (!(error instanceof DiffusekitError)) throw error;
    unavailable.push(`\`${provider}\`: ${error.code}: ${error.message}`);
    await runtime.close();
    continue;
  }
  const defaults = task.model.manifest.diffusion;
  for (const steps of [defaults.defaultSteps, 20]) {
    for (const tilesPerCall of tilesPerCallChoices) {
      const seconds = [];
      let modelShare = 0;
      let out;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        out = await task.run(lr, { seed: 0, steps, tilesPerCall });
        seconds.push((performance.now() - t0) / 1000);
        modelShare = out.info.modelMs / out.info.totalMs;
      }
      const megapixels = (out.raster.width * out.raster.height) / 1e6;
      const key = `${steps}:${tilesPerCall}`;
      if (provider === 'cpu') cpuOutputs.set(key, out.raster.data);
      const reference = cpuOutputs.get(key);
      const diff = reference && provider !== 'cpu' ? difference(out.raster.data, reference) : undefined;
      rows.push([
        `\`${provider}\``,
        `${defaults.defaultSampler}, ${steps}`,
        String(tilesPerCall),
        fmt(median(seconds), 2),
        fmt(median(seconds) / megapixels, 2),
        `${fmt(100 * modelShare, 1)} %`,
        diff ? `${fmt(diff.mean, 3)} / ${diff.max} / ${fmt(diff.psnr, 1)} dB` : '—',
      ]);
    }
  }
  await runtime.close();
}

console.log(`### Super-resolution speed per provider (${taskId}, ${inputSize}² input, ${inputSize * 4}² output, ${runs} runs)\n`);
console.log(
  table(['provider', 'sampler, steps', 'tiles per call', 'median s', 's / output MP', 'engine share of run time', 'vs CPU output: mean / max abs diff / PSNR'], rows),
);
if (unavailable.length) console.log(`\nNot measured:\n${unavailable.map((u) => `- ${u}`).join('\n')}`);
console.log(`\n_${machine()}._`);
