// Which tile size to default to: super-resolution quality and speed against the SDK's tile side, on crops of the
// validation images larger than any tile tried (a default must be chosen on held-out data that is not the test split).
// Needs the pairs: /usr/bin/python3 bench/make-sr-eval-set.py --split val --size 384 --per-image 4
// Usage: node bench/sr-tile.mjs [--size 384] [--tiles 64,128,192,256,384] [--models sr3:sr3-x4,srdiff:srdiff-x4] [--n N]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRuntime } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, capArg, countOf, defaultsOf, fmt, mean, median, table, evalFolder, srPairs } from './lib.mjs';
import { bicubicUpscale, psnrY, ssimY } from './sr-metrics.mjs';

const size = Number(arg('size', '384'));
const tiles = arg('tiles', `64,128,192,256,${size}`).split(',').map(Number);
const n = capArg();
const modelSpecs = arg('models', 'sr3:sr3-x4,srdiff:srdiff-x4').split(',').map((pair) => pair.split(':'));
const evalDir = evalFolder(`sr-x4-val${size}`);
if (!existsSync(evalDir)) {
  console.log(`### Super-resolution tile size\n\nSkipped: no validation pairs in ${evalDir} (run bench/make-sr-eval-set.py --split val --size ${size}).`);
  process.exit(0);
}

const toImage = (r) => ({ width: r.width, height: r.height, data: r.data });
const pairs = (domain) => srPairs(evalDir, domain, n);

const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [sr3Plugin] });
const sets = { aerial: await pairs('aerial'), photo: await pairs('photo') };
const rows = [];
for (const domain of Object.keys(sets)) {
  const hrs = sets[domain].map((p) => p.hr);
  const bicubic = sets[domain].map((p) => bicubicUpscale(toImage(p.lr), 4));
  rows.push([domain, 'bicubic', '-', fmt(mean(bicubic.map((o, i) => psnrY(o, hrs[i]))), 3), fmt(mean(bicubic.map((o, i) => ssimY(o, hrs[i]))), 4), '-', '-']);
}
for (const [task, model] of modelSpecs) {
  const sr = await runtime.load(task, { model });
  const defaults = { ...defaultsOf(sr), tile: sr.model.manifest.tile?.size };
  await sr.run(sets.aerial[0].lr, { seed: 0 }); // warm-up: onnxruntime allocates its arenas
  for (const domain of Object.keys(sets)) {
    const hrs = sets[domain].map((p) => p.hr);
    for (const tile of tiles) {
      const outs = [];
      const seconds = [];
      for (const p of sets[domain]) {
        const t0 = performance.now();
        outs.push(toImage((await sr.run(p.lr, { seed: 0, tile })).raster));
        seconds.push((performance.now() - t0) / 1000);
      }
      const label = `${tile}${tile >= size ? ' (whole crop)' : ''}${tile === defaults.tile ? ' (default)' : ''}`;
      rows.push([domain, `${model} (${defaults.sampler}, ${countOf(defaults.steps, 'step')})`, label, fmt(mean(outs.map((o, i) => psnrY(o, hrs[i]))), 3), fmt(mean(outs.map((o, i) => ssimY(o, hrs[i]))), 4), fmt(median(seconds), 2), fmt((seconds.reduce((a, b) => a + b, 0) / outs.length / (size * size)) * 1e6, 1)]);
    }
  }
}
await runtime.close();

const counts = Object.entries(sets).map(([domain, set]) => `${set.length} ${domain}`).join(' and ');
console.log(`### Super-resolution tile size (validation split)\n`);
console.log(`${counts} crops of ${size}×${size} cut from the validation images (bench/make-sr-eval-set.py --split val), so that every tile size but the last splits each crop; LR made by the training degradation. The SDK's defaults but the tile side (output pixels; overlap a quarter tile). PSNR/SSIM on Y (BT.601), 4-pixel border cropped. Seed 0.\n`);
console.log(table(['domain', 'model', 'tile', 'PSNR-Y (dB)', 'SSIM-Y', `median s / ${size}² output`, 's / output megapixel'], rows));
