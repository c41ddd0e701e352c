// Cost of the sampling machinery next to the network it drives: one scheduler step per sampler, the shared noise
// field, tile fusion and the sampler loop's own overhead, all on one 3 x 512 x 512 sample (medians).
// With --model path/to/model.onnx it also times one UNet step at the same size and prints the ratio.
// Usage: node bench/schedulers.mjs [--size 512] [--reps 41] [--model path/to/model.onnx] [--model-reps 15]
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TileFusion, createRng, createScheduler, fillNoiseField, planTiles, runSampler } from '@diffusekit/core';
import { arg, fmt, median, table } from './lib.mjs';

const size = Number(arg('size', '512'));
const reps = Number(arg('reps', '41'));
const modelPath = arg('model', undefined);
const modelReps = Number(arg('model-reps', '15'));
const channels = 3;
const shape = { channels, height: size, width: size };
const count = channels * size * size;
const schedule = { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 };

/** Median of `reps` timed calls after `warmup` untimed ones; `fn(i)` gets the call index. */
function timeIt(fn, warmup = 3) {
  for (let i = 0; i < warmup; i++) fn(i);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn(warmup + i);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const rng = createRng(1);
const x = rng.normal(count);
const modelOut = rng.normal(count);
const prev = new Float32Array(count);
const x0 = new Float32Array(count);

const rows = [];
const perPixelNs = (ms) => fmt((ms * 1e6) / count, 2);

const samplers = [
  ['ddpm', { sampler: 'ddpm' }],
  ['ddim, eta 0', { sampler: 'ddim', eta: 0 }],
  ['ddim, eta 1', { sampler: 'ddim', eta: 1 }],
  ['dpmpp-2m', { sampler: 'dpmpp-2m' }],
];
const stepMs = {};
const overheadMs = {};
// The samplers are timed in turn within each round, after warm-up rounds, so that JIT warm-up, GC and load drift fall
// on all of them alike instead of on whichever would have been measured first.
const contenders = samplers.map(([label, options]) => {
  const scheduler = createScheduler({ ...options, schedule, prediction: 'eps' });
  scheduler.setTimesteps(50);
  let i = 0;
  // Walk the timesteps in order so the multistep solver has its history (its second-order path is the one timed).
  const step = () => {
    const t = scheduler.timesteps[1 + (i++ % (scheduler.timesteps.length - 2))];
    if (t === scheduler.timesteps[1]) scheduler.step(modelOut, scheduler.timesteps[0], x, rng, { out: { prev, x0 } });
    scheduler.step(modelOut, t, x, rng, { out: { prev, x0 } });
  };
  return { label, scheduler, step, times: [] };
});
for (let round = 0; round < 10 + reps; round++) {
  for (const c of contenders) {
    const t0 = performance.now();
    c.step();
    if (round >= 10) c.times.push(performance.now() - t0);
  }
}
for (const { label, scheduler, times } of contenders) {
  const ms = median(times);
  stepMs[label] = ms;
  rows.push([`scheduler step: ${label}${scheduler.needsNoise ? ' (draws its noise)' : ''}`, fmt(ms, 2), perPixelNs(ms)]);
}

const noise = new Float32Array(count);
const noiseMs = timeIt((i) => fillNoiseField(rng.derive(i), shape, size, size, noise));
rows.push([`noise field (${count.toLocaleString('en')} normals)`, fmt(noiseMs, 2), perPixelNs(noiseMs)]);

const tiling = { tile: Math.min(128, size), overlap: Math.min(32, size / 4), multipleOf: 16 };
const plan = planTiles({ width: size, height: size, ...tiling });
const fusion = new TileFusion(plan, channels);
const tileOut = rng.normal(channels * plan.tileWidth * plan.tileHeight);
const fused = new Float32Array(channels * plan.paddedWidth * plan.paddedHeight);
const fusionMs = timeIt(() => {
  fusion.reset();
  for (const rect of plan.tiles) fusion.add(rect.index, tileOut);
  fusion.result(fused);
});
const fusionLabel = `tile fusion (${plan.tiles.length} tiles of ${tiling.tile}, overlap >= ${tiling.overlap})`;
rows.push([fusionLabel, fmt(fusionMs, 2), perPixelNs(fusionMs)]);

/** Loop overhead per step (everything but the model) with a model that answers instantly. */
async function loopOverhead(sampler, withTiling) {
  const scheduler = createScheduler({ ...sampler, schedule, prediction: 'eps' });
  scheduler.setTimesteps(reps);
  const answers = new Map();
  const model = async (batch) => {
    let out = answers.get(batch.x.length);
    if (!out) answers.set(batch.x.length, (out = new Float32Array(batch.x.length).fill(0.1)));
    return out;
  };
  let stats;
  await runSampler({
    scheduler, model, shape, seed: 1, noiseInput: 'timestep', tiling: withTiling ? tiling : undefined, onStats: (s) => (stats = s),
  });
  return (stats.totalMs - stats.modelMs) / stats.steps;
}
for (const [label, sampler] of [['ddim, eta 0', { sampler: 'ddim', eta: 0 }], ['ddpm', { sampler: 'ddpm' }]]) {
  for (const withTiling of [false, true]) {
    const ms = await loopOverhead(sampler, withTiling);
    const name = `runSampler overhead per step: ${label}, ${withTiling ? `tiled (${plan.tiles.length} tiles)` : 'untiled'}`;
    overheadMs[name] = ms;
    rows.push([name, fmt(ms, 2), perPixelNs(ms)]);
  }
}

console.log(`### Sampling machinery on one ${channels} x ${size} x ${size} sample\n`);
console.log(table(['operation', 'median ms', 'ns / value'], rows));

if (modelPath) {
  const { unetMs, shares } = await sideBySide(modelPath);
  console.log(`\n### One UNet step at the same size (${path.basename(path.dirname(path.resolve(modelPath)))}, onnxruntime-node, cpu)\n`);
  console.log(
    `Each of ${modelReps} rounds runs one UNet step and then one step of every sampler, so both sides see the same machine ` +
      'state; the share is the median over rounds of step time / UNet time in that round.\n',
  );
  const ratioRows = [['UNet step', fmt(unetMs, 1), '1']];
  for (const { label, ms, share } of shares) ratioRows.push([`scheduler step: ${label}`, fmt(ms, 2), `${fmt(share * 100, 2)} %`]);
  for (const [name, ms] of Object.entries(overheadMs)) ratioRows.push([name, fmt(ms, 2), `${fmt((ms / unetMs) * 100, 2)} %`]);
  console.log(table(['operation', 'median ms', 'share of a UNet step'], ratioRows));
}

/** Alternates UNet steps with one step of each sampler, round by round; returns medians and per-round shares. */
async function sideBySide(file) {
  if (!existsSync(file)) throw new Error(`No model at ${file}`);
  const ort = await import('onnxruntime-node');
  const manifestPath = path.join(path.dirname(file), 'model.json');
  const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
  const feeds = feedsFor(ort, session, manifest);
  await session.run(feeds); // warm-up: first runs allocate and plan
  const unetTimes = [];
  const perSampler = contenders.map(() => ({ times: [], ratios: [] }));
  for (let round = 0; round < modelReps; round++) {
    const t0 = performance.now();
    await session.run(feeds);
    const unet = performance.now() - t0;
    unetTimes.push(unet);
    contenders.forEach((c, i) => {
      const s0 = performance.now();
      c.step();
      const ms = performance.now() - s0;
      perSampler[i].times.push(ms);
      perSampler[i].ratios.push(ms / unet);
    });
  }
  await session.release();
  return {
    unetMs: median(unetTimes),
    shares: contenders.map((c, i) => ({ label: c.label, ms: median(perSampler[i].times), share: median(perSampler[i].ratios) })),
  };
}

/**
 * Feeds for one network call at `size`: tensor names come from the manifest's io.inputs (role -> name) in the
 * model.json beside the model when there is one, otherwise from the session's own input metadata.
 */
function feedsFor(ort, session, manifest) {
  const scale = manifest?.scale ?? 1;
  const c = manifest?.channels ?? channels;
  const metadata = new Map((session.inputMetadata ?? []).map((m) => [m.name, m]));
  const image = (side) => new ort.Tensor('float32', new Float32Array(c * side * side).fill(0.1), [1, c, side, side]);
  const level = (name) => {
    const type = metadata.get(name)?.type;
    const value = manifest?.diffusion?.noiseInput === 'timestep' ? 500 : 0.5;
    return type === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from([BigInt(value)]), [1])
      : new ort.Tensor('float32', Float32Array.from([value]), [1]);
  };
  const byRole = manifest?.io?.inputs ?? {};
  const roleOf = new Map(Object.entries(byRole).map(([role, name]) => [name, role]));
  const feeds = {};
  for (const name of session.inputNames) {
    const role = roleOf.get(name) ?? name;
    const rank = metadata.get(name)?.shape?.length;
    if (role === 'noise_level' || role === 't' || role === 'timestep' || rank === 1 || rank === 0) feeds[name] = level(name);
    else if (role === 'lr') feeds[name] = image(Math.round(size / scale));
    else feeds[name] = image(size);
  }
  return feeds;
}
