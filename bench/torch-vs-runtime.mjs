// The same model, inputs and steps in PyTorch (Debian's CPU build, via bench/torch_speed.py) and in diffusekit
// (onnxruntime-node through the SDK), with the same thread count, measured one after the other on one machine.
// Usage: node bench/torch-vs-runtime.mjs [--model sr3-x4] [--task sr3] [--threads 2] [--runs 5]
// PYTHON names the interpreter with PyTorch (default /usr/bin/python3).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, fmt, median, table } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelId = arg('model', 'sr3-x4');
const taskId = arg('task', 'sr3');
const threads = Number(arg('threads', '2'));
const runs = Number(arg('runs', '5'));
const tile = 128;
const tilesPerCall = 4;
const image = 256;
const stepsList = [2, 20];

const python = process.env.PYTHON ?? '/usr/bin/python3';
let torch;
try {
  const args = [path.join(here, 'torch_speed.py'), '--model', modelId, '--threads', String(threads), '--tile', String(tile), '--batch', String(tilesPerCall), '--image', String(image), '--steps', stepsList.join(','), '--runs', String(runs)];
  torch = JSON.parse(execFileSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop());
} catch (error) {
  console.log(`### PyTorch against diffusekit\n\nSkipped: ${python} with PyTorch could not run bench/torch_speed.py (${error.message.split('\n')[0]}).`);
  process.exit(0);
}

const runtime = createRuntime({ engine: { provider: 'cpu', threads, workers: 0 }, plugins: [sr3Plugin] });
const task = await runtime.load(taskId, { model: modelId });
const { manifest } = task.model;
const scale = manifest.scale;

// One engine call on the same batch of tiles as PyTorch's: the session the task itself uses.
const session = await runtime.engine.openSession(task.model, task.model.manifest.files.some((f) => f.role === 'denoiser') ? 'denoiser' : undefined);
const lrSide = tile / scale;
const noise = (n, seed) => {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
};
const io = manifest.io.inputs;
const feeds = {
  [io.x]: { data: noise(tilesPerCall * 3 * tile * tile, 1), dims: [tilesPerCall, 3, tile, tile] },
  [io.noise_level]: { data: new Float32Array(tilesPerCall).fill(manifest.diffusion.noiseInput === 'timestep' ? 500 : 0.5), dims: [tilesPerCall] },
};
if (io.lr) feeds[io.lr] = { data: noise(tilesPerCall * 3 * lrSide * lrSide, 2), dims: [tilesPerCall, 3, lrSide, lrSide] };
if (io.lr_features) feeds[io.lr_features] = { data: noise(tilesPerCall * 32 * tile * tile, 3), dims: [tilesPerCall, 32, tile, tile] };
const timeIt = async (fn, n) => {
  await fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
};
const callMs = await timeIt(() => session.run(feeds), runs);

const lrPixels = noise((image / scale) ** 2 * 3, 4);
const lr = { width: image / scale, height: image / scale, bands: 3, dtype: 'uint8', data: Uint8Array.from(lrPixels, (v) => Math.round((v + 1) * 127.5)) };
const rows = [[`one network call, ${tilesPerCall} tiles of ${tile}²`, fmt(torch.call_ms, 0), fmt(callMs, 0), fmt(torch.call_ms / callMs, 2)]];
for (const steps of stepsList) {
  const whole = await timeIt(() => task.run(lr, { steps, seed: 0, tile: image }), runs);
  const tiled = await timeIt(() => task.run(lr, { steps, seed: 0 }), runs);
  const torchMs = torch[`image_ms_${steps}`];
  rows.push([`${image}² output, DDIM ${steps} steps, whole image in one tile`, fmt(torchMs, 0), fmt(whole, 0), fmt(torchMs / whole, 2)]);
  rows.push([`${image}² output, DDIM ${steps} steps, SDK default tiling (${manifest.tile?.size ?? tile}² tiles, overlap, fused every step)`, '—', fmt(tiled, 0), '—']);
}
await runtime.close();

console.log(`### PyTorch against diffusekit (${modelId}, CPU, ${threads} threads each)\n`);
console.log(`PyTorch ${torch.torch} (eager, \`torch.no_grad\`, float32) against onnxruntime-node through the SDK, same weights and inputs; medians of ${runs} runs after a warm-up, PyTorch first, then the SDK.\n`);
console.log(table(['work', 'PyTorch ms', 'diffusekit ms', 'PyTorch / diffusekit'], rows));
console.log(
  `\nA ratio above 1 means diffusekit is faster. "Whole image in one tile" is the like-for-like comparison: PyTorch runs the research code's way, one network call per step on the whole image. The SDK's default tiling evaluates overlapping tiles (${manifest.tile?.size ?? tile}² with a quarter-tile overlap), which costs more pixels per step on a small image but keeps the engine's memory bounded by the tile batch; pass a larger \`tile\` when the whole image fits.`,
);
