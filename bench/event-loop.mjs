// Event-loop delay while inference runs: in the calling thread (workers: 0) versus the worker pool (workers: 1).
// A server must stay responsive while a long UNet step runs; this measures how long the loop is held.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelCatalog, createEngine } from '@diffusekit/core';
import { arg, fmt, machine, median, table } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const folders = ['packages/sr3/models', 'test/models'].map((f) => path.join(root, f)).filter(existsSync);
const catalog = new ModelCatalog({ folders });
const modelId = arg('model', (await catalog.list()).some((m) => m.manifest.id === 'sr3-x4') ? 'sr3-x4' : 'tiny-ddpm');
const size = Number(arg('size', modelId === 'tiny-ddpm' ? '1024' : '256'));
const runs = Number(arg('runs', '5'));
const model = await catalog.resolve(modelId);
const { manifest } = model;

function inputsFor(names) {
  const scale = manifest.scale ?? 1;
  const feeds = {};
  const io = manifest.io.inputs;
  const hw = [size, size];
  if (io.x) feeds[io.x] = { data: new Float32Array(manifest.channels * size * size).fill(0.1), dims: [1, manifest.channels, ...hw] };
  if (io.noise_level) feeds[io.noise_level] = { data: new Float32Array([manifest.diffusion.noiseInput === 'timestep' ? 500 : 0.5]), dims: [1] };
  if (io.lr) feeds[io.lr] = { data: new Float32Array(manifest.channels * (size / scale) ** 2).fill(0.1), dims: [1, manifest.channels, size / scale, size / scale] };
  if (io.cond) feeds[io.cond] = { data: new Float32Array(manifest.channels * size * size).fill(0.1), dims: [1, manifest.channels, ...hw] };
  return Object.fromEntries(Object.entries(feeds).filter(([n]) => names.includes(n)));
}

async function measure(workers) {
  const engine = createEngine({ provider: 'cpu', workers });
  const session = await engine.openSession(model);
  const feeds = inputsFor(session.inputNames);
  await session.run(feeds); // warm-up
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const times = [];
  histogram.enable();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  histogram.disable();
  await engine.close();
  return { runMs: median(times), maxDelayMs: histogram.max / 1e6, p99DelayMs: histogram.percentile(99) / 1e6 };
}

const inline = await measure(0);
const pooled = await measure(1);
console.log(`### Event-loop delay during inference\n`);
console.log(`Model \`${modelId}\`, one ${size}×${size} step, ${runs} runs, CPU provider. ${machine()}.\n`);
console.log(
  table(
    ['where inference runs', 'median step (ms)', 'max event-loop delay (ms)', 'p99 event-loop delay (ms)'],
    [
      ['calling thread (`workers: 0`)', fmt(inline.runMs), fmt(inline.maxDelayMs), fmt(inline.p99DelayMs)],
      ['worker pool (`workers: 1`)', fmt(pooled.runMs), fmt(pooled.maxDelayMs), fmt(pooled.p99DelayMs)],
    ],
  ),
);
