// Inpainting on held-out images: PSNR inside the hole of the model's fill against two plain fills (each channel's mean
// of the known pixels, and a harmonic fill that solves Laplace's equation in the hole: the smoothest surface that meets
// the hole's border), on box and free-form stroke masks; a steps / resampling curve; seconds per megapixel; a picture
// grid (input with the hole in grey, harmonic fill, output at the defaults, output sampled longer, original). Needs the
// set of bench/make-inpaint-eval-set.py.
// Usage: node bench/inpaint.mjs [--n 8] [--model palette-inpaint] [--grid docs/inpaint-samples.png] [--curve 1x1,2x1,10x1,10x2]
//        [--grid-sampling ddpm:50x1]   (a setting: [SAMPLER:]STEPSxRESAMPLE, the sampler DDIM unless named)
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createRuntime, readImageFile } from '@diffusekit/core';
import { binariseMask, palettePlugin } from '@diffusekit/palette';
import { arg, defaultsOf, fmt, mean, median, modelFoldersFromEnv, table, countOf, evalFolder } from './lib.mjs';

const n = Number(arg('n', '8'));
const modelId = arg('model', 'palette-inpaint');
const gridPath = arg('grid', undefined);
/** "[sampler:]STEPSxRESAMPLE", e.g. "10x2" (DDIM) or "ddpm:50x1". */
function parseSetting(text) {
  const [sampler, rest] = text.includes(':') ? text.split(':') : ['ddim', text];
  const [steps, resample] = rest.split('x').map(Number);
  return { sampler, steps, resample };
}
const curve = arg('curve', '1x1,2x1,5x1,10x1,20x1,10x2,10x4,ddpm:50x1,ddpm:100x1').split(',').map(parseSetting);
/** The grid's second output column: ancestral sampling keeps the most texture where one DDIM step gives the mean. */
const gridSetting = parseSetting(arg('grid-sampling', 'ddpm:50x1'));
const gridSteps = gridSetting.steps;
const gridResample = gridSetting.resample;
const evalDir = evalFolder('inpaint');
if (!existsSync(evalDir)) {
  console.log(`### Inpainting\n\nSkipped: no held-out set in ${evalDir} (run bench/make-inpaint-eval-set.py).`);
  process.exit(0);
}
const MASKS = ['box', 'strokes', 'box-x2'];
/** Grid rows per domain: the first crop with its larger box mask, the second with its strokes. */
const GRID_CASE = { 'box-x2': 0, strokes: 1 };
const MASK_LABEL = { box: 'boxes, trained scale', strokes: 'free-form strokes, trained scale', 'box-x2': 'boxes, twice the trained scale' };

/** PSNR over the RGB samples of the hole (8-bit). */
function holePsnr(a, b, hole) {
  const pixels = hole.length;
  let se = 0;
  let count = 0;
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < pixels; i++)
      if (hole[i]) {
        se += (a.data[c * pixels + i] - b.data[c * pixels + i]) ** 2;
        count++;
      }
  return 10 * Math.log10((255 * 255) / Math.max(se / count, 1e-10));
}

function withHole(raster, hole, fillPlane) {
  const pixels = hole.length;
  const data = Uint8Array.from(raster.data);
  for (let c = 0; c < 3; c++) {
    const values = fillPlane(c);
    for (let i = 0; i < pixels; i++) if (hole[i]) data[c * pixels + i] = Math.round(Math.min(255, Math.max(0, values[i])));
  }
  return { ...raster, data };
}

function meanFill(raster, hole) {
  const pixels = hole.length;
  return withHole(raster, hole, (c) => {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < pixels; i++) if (!hole[i]) (sum += raster.data[c * pixels + i]), count++;
    return new Float64Array(pixels).fill(sum / count);
  });
}

/** Gauss-Seidel with over-relaxation on the hole's pixels until the largest update is below 1e-3 grey levels. */
function harmonicFill(raster, hole) {
  const { width, height } = raster;
  const pixels = hole.length;
  const start = meanFill(raster, hole);
  const inside = [];
  for (let i = 0; i < pixels; i++) if (hole[i]) inside.push(i);
  return withHole(raster, hole, (c) => {
    const v = Float64Array.from({ length: pixels }, (_, i) => start.data[c * pixels + i]);
    for (let sweep = 0; sweep < 20000; sweep++) {
      let worst = 0;
      for (const i of inside) {
        const x = i % width;
        const y = (i - x) / width;
        let sum = 0;
        let k = 0;
        if (x > 0) (sum += v[i - 1]), k++;
        if (x + 1 < width) (sum += v[i + 1]), k++;
        if (y > 0) (sum += v[i - width]), k++;
        if (y + 1 < height) (sum += v[i + width]), k++;
        const next = v[i] + 1.9 * (sum / k - v[i]);
        worst = Math.max(worst, Math.abs(next - v[i]));
        v[i] = next;
      }
      if (worst < 1e-3) break;
    }
    return v;
  });
}

const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [palettePlugin], modelFolders: modelFoldersFromEnv() });
const task = await runtime.load('palette-inpaint', { model: modelId });
const defaults = defaultsOf(task);
const rows = [];
const curveRows = [];
const seconds = [];
let megapixels = 0;
const gridRows = [];

for (const domain of ['aerial', 'photo']) {
  const dir = path.join(evalDir, domain);
  const ids = readdirSync(dir).filter((f) => f.endsWith('_image.png')).sort().slice(0, n).map((f) => f.slice(0, -'_image.png'.length));
  const cases = [];
  for (const id of ids) {
    const image = (await readImageFile(path.join(dir, `${id}_image.png`))).raster;
    const masks = {};
    for (const kind of MASKS) masks[kind] = (await readImageFile(path.join(dir, `${id}_${kind}.png`))).raster;
    cases.push({ id, image, masks });
  }
  for (const kind of MASKS) {
    const scores = { mean: [], harmonic: [], model: [], cover: [] };
    for (const [index, { image, masks }] of cases.entries()) {
      const hole = binariseMask(masks[kind], image);
      const t0 = performance.now();
      const out = (await task.run({ image, mask: masks[kind] }, { seed: 0 })).raster;
      seconds.push((performance.now() - t0) / 1000);
      megapixels += (image.width * image.height) / 1e6;
      scores.mean.push(holePsnr(meanFill(image, hole), image, hole));
      const harmonic = harmonicFill(image, hole);
      scores.harmonic.push(holePsnr(harmonic, image, hole));
      scores.model.push(holePsnr(out, image, hole));
      scores.cover.push(hole.reduce((a, b) => a + b, 0) / hole.length);
      if (gridPath && GRID_CASE[kind] === index) {
        const sampled = (await task.run({ image, mask: masks[kind] }, { seed: 0, ...gridSetting })).raster;
        gridRows.push({ image, hole, out, sampled, harmonic, psnr: [holePsnr(harmonic, image, hole), holePsnr(out, image, hole), holePsnr(sampled, image, hole)] });
      }
    }
    const gainMean = mean(scores.model) - mean(scores.mean);
    const gainHarmonic = mean(scores.model) - mean(scores.harmonic);
    const signed = (x) => `${x >= 0 ? '+' : ''}${fmt(x, 2)}`;
    rows.push([domain, MASK_LABEL[kind], `${fmt(100 * mean(scores.cover), 1)} %`, fmt(mean(scores.mean), 2), fmt(mean(scores.harmonic), 2), fmt(mean(scores.model), 2), signed(gainMean), signed(gainHarmonic)]);
  }
  for (const { sampler, steps, resample } of curve) {
    const psnrs = [];
    for (const { image, masks } of cases.slice(0, 2)) {
      for (const kind of ['box', 'strokes']) {
        const hole = binariseMask(masks[kind], image);
        psnrs.push(holePsnr((await task.run({ image, mask: masks[kind] }, { seed: 0, sampler, steps, resample })).raster, image, hole));
      }
    }
    curveRows.push([domain, sampler, String(steps), String(resample), fmt(mean(psnrs), 2)]);
  }
}
await runtime.close();

if (gridPath) {
  // Columns: input with the hole shown grey, harmonic fill, output at the defaults, output sampled longer, original.
  const size = 256;
  const gap = 4;
  const cols = 5;
  const width = cols * size + (cols - 1) * gap;
  const height = gridRows.length * size + (gridRows.length - 1) * gap;
  const canvas = Buffer.alloc(width * height * 3, 255);
  const put = (row, col, raster, pick) => {
    const pixels = raster.width * raster.height;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) canvas[((row * (size + gap) + y) * width + col * (size + gap) + x) * 3 + c] = pick(c, y * raster.width + x, pixels);
  };
  gridRows.forEach(({ image, hole, out, sampled, harmonic }, row) => {
    put(row, 0, image, (c, i, p) => (hole[i] ? 128 : image.data[c * p + i]));
    put(row, 1, harmonic, (c, i, p) => harmonic.data[c * p + i]);
    put(row, 2, out, (c, i, p) => out.data[c * p + i]);
    put(row, 3, sampled, (c, i, p) => sampled.data[c * p + i]);
    put(row, 4, image, (c, i, p) => image.data[c * p + i]);
  });
  await sharp(canvas, { raw: { width, height, channels: 3 } }).png().toFile(gridPath);
}

console.log(`### Inpainting on held-out images\n`);
console.log(
  `${n} crops of 256×256 per domain from the test split (never trained on); masks from training's generator with a fixed seed (bench/make-inpaint-eval-set.py), one of each kind per crop. Model \`${modelId}\` at its defaults (${defaults.sampler}, ${countOf(defaults.steps, 'step')}, no resampling), seed 0. PSNR on the RGB values of the hole only, against the original. Plain fills: each channel's mean over the known pixels, and the harmonic fill (Laplace's equation solved in the hole, the smoothest surface meeting its border).\n`,
);
console.log(table(['domain', 'masks', 'hole (of image)', 'mean fill', 'harmonic fill', 'model', 'vs mean (dB)', 'vs harmonic (dB)'], rows));
console.log(`\n### Inpainting: sampler, steps and RePaint resampling (2 crops per domain, box and stroke masks)\n`);
console.log(table(['domain', 'sampler', 'steps', 'resample', 'PSNR in hole'], curveRows));
console.log(`\nSpeed at the defaults: median ${fmt(median(seconds), 2)} s per 256×256 image, ${fmt(seconds.reduce((a, b) => a + b, 0) / megapixels, 1)} s per megapixel (CPU).`);
if (gridPath) {
  const columnMean = (k) => fmt(mean(gridRows.map((r) => r.psnr[k])), 2);
  console.log(`\nSample grid (\`${path.basename(gridPath)}\`; per domain, rows: a crop with a box at twice the trained scale, another with strokes). Columns: input with the hole in grey | harmonic fill | model at its defaults (${defaults.sampler} ${countOf(defaults.steps, 'step')}) | model with ${gridSetting.sampler} ${gridSteps} steps${gridResample > 1 ? ` × resample ${gridResample}` : ''} (\`--sampler ${gridSetting.sampler} --steps ${gridSteps}${gridResample > 1 ? ` --resample ${gridResample}` : ''}\`, seed 0) | original. Hole PSNR of these ${gridRows.length} rows: harmonic ${columnMean(0)} dB, defaults ${columnMean(1)} dB, ${gridSetting.sampler} ${gridSteps} steps ${columnMean(2)} dB.`);
  console.log(`\n![inpainting samples: input with the hole in grey, harmonic fill, output at the defaults, output with ${gridSetting.sampler} ${gridSteps} steps, original](${path.relative(path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'docs'), path.resolve(gridPath))})`);
}
