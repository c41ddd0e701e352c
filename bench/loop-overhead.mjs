// The sampler loop's own time (tiling, noise, fusion, scheduler, conversions) as a share of the engine's time, for
// each super-resolution model at its defaults on 256x256 outputs, as a user's upscale runs it. Needs no data set.
// Usage: node bench/loop-overhead.mjs [--reps 15] [--models sr3:sr3-x4,srdiff:srdiff-x4]
import { createRuntime } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, defaultsOf, fmt, median, mirroredSample, modelFoldersFromEnv, table } from './lib.mjs';

const reps = Number(arg('reps', '15'));
const specs = arg('models', 'sr3:sr3-x4,srdiff:srdiff-x4').split(',').map((pair) => pair.split(':'));

const runtime = createRuntime({ engine: { provider: 'cpu' }, modelFolders: modelFoldersFromEnv(), plugins: [sr3Plugin] });
const rows = [];
for (const [taskId, modelId] of specs) {
  const sr = await runtime.load(taskId, { model: modelId });
  const scale = sr.model.manifest.scale ?? 4;
  const input = await mirroredSample(256 / scale);
  for (let i = 0; i < 3; i++) await sr.run(input, { seed: i }); // warm-up: sessions, JIT
  const shares = [];
  const seconds = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const { info } = await sr.run(input, { seed: i });
    seconds.push((performance.now() - t0) / 1000);
    shares.push((info.totalMs - info.modelMs) / info.modelMs);
  }
  const { sampler, steps } = defaultsOf(sr);
  const sorted = [...shares].sort((a, b) => a - b);
  rows.push([modelId, `${sampler}, ${steps}`, fmt(median(seconds), 2), `${fmt(median(shares) * 100, 2)} %`, `${fmt(sorted[0] * 100, 2)} - ${fmt(sorted.at(-1) * 100, 2)} %`]);
}
await runtime.close();

console.log('### Sampler-loop overhead at the defaults (CPU)\n');
console.log(
  `${reps} upscales of a ${256}×${256} output per model (the bundled aerial sample, mirrored), after 3 warm-up runs. Overhead: the sampler's wall time outside engine calls (tile cutting, noise, fusion, scheduler steps) divided by the time in engine calls, per run.\n`,
);
console.log(table(['model', 'sampler, steps', 'median s / image', 'median overhead', 'range over runs'], rows));
