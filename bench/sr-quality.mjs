// Super-resolution quality and speed on held-out images: bicubic, ESRGAN (slim, medium) and our sr3 model at its
// defaults; a steps/quality curve per sampler; seconds per output megapixel and the sampler loop's overhead.
// Needs the evaluation pairs: /usr/bin/python3 bench/make-sr-eval-set.py (after training/data/fetch.py + prepare.py).
// Usage: node bench/sr-quality.mjs [--n N] [--curve-n 2] [--curve-size 128] [--max-steps 1000] [--models sr3:sr3-x4,srdiff:srdiff-x4] [--no-esrgan]
// The curve runs on the centre --curve-size crop of each HR image (one tile), so that DDPM at 1000 steps stays affordable.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cropRaster, createRuntime } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { loadEsrgan } from './esrgan.mjs';
import { arg, defaultsOf, fmt, mean, median, table, countOf, capArg, heldOutSetDescription, evalFolder, srPairs } from './lib.mjs';
import { bicubicUpscale, psnrY, ssimY } from './sr-metrics.mjs';

/** Crops per domain: all pairs of the evaluation folder (the whole test split) unless --n caps them. */
const n = capArg();
const curveN = Number(arg('curve-n', '2'));
const curveSize = Number(arg('curve-size', '128'));
const maxSteps = Number(arg('max-steps', '1000'));
/** task:model pairs; a model that is not installed is left out of the tables, with a note. */
const modelSpecs = arg('models', 'sr3:sr3-x4,srdiff:srdiff-x4').split(',').map((pair) => {
  const [task, model] = pair.split(':');
  return { task, model };
});
const withEsrgan = !process.argv.includes('--no-esrgan');
const evalDir = evalFolder('sr-x4');
if (!existsSync(evalDir)) {
  console.log(`### Super-resolution quality\n\nSkipped: no evaluation pairs in ${evalDir} (run bench/make-sr-eval-set.py).`);
  process.exit(0);
}

const toImage = (r) => ({ width: r.width, height: r.height, data: r.data });
const pairs = (domain) => srPairs(evalDir, domain, n);

const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [sr3Plugin] });
const models = [];
const missing = [];
for (const { task, model } of modelSpecs) {
  try {
    const sr = await runtime.load(task, { model });
    models.push({ id: model, sr, defaults: defaultsOf(sr), speed: { seconds: [], megapixels: 0, modelMs: 0, totalMs: 0 } });
  } catch (error) {
    if (error?.code !== 'MODEL_NOT_FOUND') throw error;
    missing.push(model);
  }
}
const esrgans = withEsrgan ? [await loadEsrgan('slim'), await loadEsrgan('medium')] : [];

const score = (outs, hrs) => ({ psnr: mean(outs.map((o, i) => psnrY(o, hrs[i]))), ssim: mean(outs.map((o, i) => ssimY(o, hrs[i]))) });

for (const m of models) await m.sr.run((await pairs('aerial'))[0].lr, { seed: 0 }); // warm-up: onnxruntime allocates its arenas

const qualityRows = [];
const cropCounts = {};
const curveRows = [];
for (const domain of ['aerial', 'photo']) {
  const set = await pairs(domain);
  cropCounts[domain] = set.length;
  const hrs = set.map((p) => p.hr);
  const methods = [['bicubic (a = -0.75)', set.map((p) => bicubicUpscale(toImage(p.lr), 4))]];
  for (const e of esrgans) methods.push([`${e.name} x4 (TF.js)`, set.map((p) => e.upscale(toImage(p.lr)))]);
  for (const { id, sr, defaults, speed } of models) {
    const ours = [];
    for (const p of set) {
      const t0 = performance.now();
      const out = await sr.run(p.lr, { seed: 0 });
      speed.seconds.push((performance.now() - t0) / 1000);
      speed.megapixels += (out.raster.width * out.raster.height) / 1e6;
      speed.modelMs += out.info.modelMs;
      speed.totalMs += out.info.totalMs;
      ours.push(toImage(out.raster));
    }
    methods.push([`${id} (${defaults.sampler}, ${countOf(defaults.steps, 'step')})`, ours]);
  }
  for (const [name, outs] of methods) {
    const s = score(outs, hrs);
    qualityRows.push([domain, name, fmt(s.psnr, 2), fmt(s.ssim, 4)]);
  }

  const centre = (r, size) => cropRaster(r, { x: (r.width - size) >> 1, y: (r.height - size) >> 1, width: size, height: size });
  const curveSet = set.slice(0, curveN).map((p) => {
    const hr = centre({ ...p.hr, bands: 3, dtype: 'uint8' }, curveSize);
    return { hr: toImage(hr), lr: centre(p.lr, curveSize / 4) };
  });
  const bicubicCurve = score(curveSet.map((p) => bicubicUpscale(toImage(p.lr), 4)), curveSet.map((p) => p.hr));
  curveRows.push([domain, 'bicubic', '-', '-', fmt(bicubicCurve.psnr, 2), fmt(bicubicCurve.ssim, 4), '-']);
  const curve = [
    ['ddim', 1], ['ddim', 2], ['ddim', 4], ['ddim', 10], ['ddim', 20], ['ddim', 50],
    ['dpmpp-2m', 10], ['dpmpp-2m', 20], ['dpmpp-2m', 50], ['ddpm', 250], ['ddpm', 1000],
  ];
  for (const { id, sr } of models) {
    for (const [sampler, steps] of curve) {
      if (steps > maxSteps) continue;
      const t0 = performance.now();
      const outs = [];
      for (const p of curveSet) outs.push(toImage((await sr.run(p.lr, { sampler, steps, seed: 0 })).raster));
      const s = score(outs, curveSet.map((p) => p.hr));
      curveRows.push([domain, id, sampler, String(steps), fmt(s.psnr, 2), fmt(s.ssim, 4), fmt((performance.now() - t0) / 1000 / curveSet.length, 1)]);
    }
  }
}
await runtime.close();

console.log(`### Super-resolution x4 quality on held-out images\n`);
console.log(`${heldOutSetDescription(evalDir, cropCounts, n)}; LR made by the training degradation. PSNR/SSIM on Y (BT.601), 4-pixel border cropped. Seed 0.\n`);
console.log(table(['domain', 'method', 'PSNR-Y (dB)', 'SSIM-Y'], qualityRows));
if (missing.length) console.log(`\nNot installed, left out: ${missing.join(', ')}.`);
console.log(`\n### Steps against quality (centre ${curveSize}×${curveSize} of ${countOf(curveN, 'crop')} per domain)\n`);
console.log(table(['domain', 'model', 'sampler', 'steps', 'PSNR-Y (dB)', 'SSIM-Y', 's / image'], curveRows));
console.log(`\n### Super-resolution speed at the defaults (CPU)\n`);
console.log(
  table(
    ['model', 'sampler, steps', 'median s / 256² output', 's / output megapixel', 'sampler-loop overhead over engine time'],
    models.map(({ id, defaults, speed }) => [id, `${defaults.sampler}, ${defaults.steps}`, fmt(median(speed.seconds), 2), fmt(speed.seconds.reduce((a, b) => a + b, 0) / speed.megapixels, 1), `${fmt((100 * (speed.totalMs - speed.modelMs)) / speed.modelMs, 2)} %`]),
  ),
);
