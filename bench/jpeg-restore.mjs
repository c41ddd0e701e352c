// JPEG artifact removal on held-out images: PSNR/SSIM of the JPEG itself against the restored output at qualities
// 10, 20 and 30, a steps/quality curve, and seconds per megapixel.
// Needs the held-out crops of bench/make-sr-eval-set.py (their high-resolution halves are used).
// Usage: node bench/jpeg-restore.mjs [--n N] [--model palette-jpeg] [--curve 1,2,4,10]
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createRuntime, decodeImage, readImageFile } from '@diffusekit/core';
import { palettePlugin } from '@diffusekit/palette';
import { arg, defaultsOf, fmt, mean, median, modelFoldersFromEnv, table, countOf, capArg, heldOutSetDescription, evalFolder } from './lib.mjs';
import { psnrY, ssimY } from './sr-metrics.mjs';

/** Crops per domain: every held-out crop of the evaluation folder (the whole test split) unless --n caps them. */
const n = capArg();
const modelId = arg('model', 'palette-jpeg');
const curve = arg('curve', '1,2,4,10').split(',').map(Number);
const evalDir = evalFolder('sr-x4');
if (!existsSync(evalDir)) {
  console.log(`### JPEG restoration\n\nSkipped: no held-out crops in ${evalDir} (run bench/make-sr-eval-set.py).`);
  process.exit(0);
}

const toImage = (r) => ({ width: r.width, height: r.height, data: r.data });
/** Encodes with libjpeg's standard tables and 4:2:0 chroma, as the training degradation (Pillow) does. */
async function jpegOf(raster, quality) {
  const n = raster.width * raster.height;
  const hwc = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = raster.data[c * n + i];
  const bytes = await sharp(hwc, { raw: { width: raster.width, height: raster.height, channels: 3 } }).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  return (await decodeImage(bytes)).raster;
}

const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [palettePlugin], modelFolders: modelFoldersFromEnv() });
const task = await runtime.load('palette-jpeg', { model: modelId });
const defaults = defaultsOf(task);
const rows = [];
const curveRows = [];
const seconds = [];
let megapixels = 0;
const cropCounts = {};

for (const domain of ['aerial', 'photo']) {
  const dir = path.join(evalDir, domain);
  const files = readdirSync(dir).filter((f) => f.endsWith('_hr.png')).sort().slice(0, n);
  const originals = await Promise.all(files.map(async (f) => (await readImageFile(path.join(dir, f))).raster));
  cropCounts[domain] = originals.length;
  for (const quality of [10, 20, 30]) {
    const jpegs = await Promise.all(originals.map((o) => jpegOf(o, quality)));
    const restored = [];
    for (const j of jpegs) {
      const t0 = performance.now();
      restored.push((await task.run(j, { seed: 0 })).raster);
      seconds.push((performance.now() - t0) / 1000);
      megapixels += (j.width * j.height) / 1e6;
    }
    const score = (outs) => [mean(outs.map((o, i) => psnrY(toImage(o), toImage(originals[i])))), mean(outs.map((o, i) => ssimY(toImage(o), toImage(originals[i]))))];
    const [pj, sj] = score(jpegs);
    const [pr, sr] = score(restored);
    rows.push([domain, String(quality), fmt(pj, 2), fmt(sj, 4), fmt(pr, 2), fmt(sr, 4), `${pr - pj >= 0 ? '+' : ''}${fmt(pr - pj, 2)}`]);
    if (quality !== 10) continue;
    for (const steps of curve) {
      const outs = [];
      for (const j of jpegs.slice(0, 2)) outs.push((await task.run(j, { seed: 0, steps })).raster);
      const [p, s] = [mean(outs.map((o, i) => psnrY(toImage(o), toImage(originals[i])))), mean(outs.map((o, i) => ssimY(toImage(o), toImage(originals[i]))))];
      const [p0] = [mean(jpegs.slice(0, 2).map((j, i) => psnrY(toImage(j), toImage(originals[i]))))];
      curveRows.push([domain, String(steps), fmt(p0, 2), fmt(p, 2), fmt(s, 4)]);
    }
  }
}
await runtime.close();

console.log(`### JPEG artifact removal on held-out images\n`);
console.log(`${heldOutSetDescription(evalDir, cropCounts, n)}, JPEG-encoded by libjpeg (sharp) at each quality with 4:2:0 chroma. Model \`${modelId}\` at its defaults (${defaults.sampler}, ${countOf(defaults.steps, 'step')}), seed 0. PSNR/SSIM on Y (BT.601), 4-pixel border cropped.\n`);
console.log(table(['domain', 'JPEG quality', 'JPEG PSNR-Y', 'JPEG SSIM-Y', 'restored PSNR-Y', 'restored SSIM-Y', 'gain (dB)'], rows));
console.log(`\n### JPEG restoration: steps against quality (quality 10, 2 crops per domain, DDIM)\n`);
console.log(table(['domain', 'steps', 'JPEG PSNR-Y', 'restored PSNR-Y', 'restored SSIM-Y'], curveRows));
console.log(`\nSpeed at the defaults: median ${fmt(median(seconds), 2)} s per 256×256 image, ${fmt(seconds.reduce((a, b) => a + b, 0) / megapixels, 1)} s per megapixel (CPU).`);
