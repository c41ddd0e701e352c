// Seams: the same super-resolution run tiled (the SDK's default tiles, overlapping, fused at every step) and as one
// tile covering the whole image, on an image small enough for both. Reports how far the tiled output is from the
// whole-image output, and the jump between neighbouring pixels on the tile borders against the interior.
// Usage: node bench/tiling.mjs [--models sr3:sr3-x4,srdiff:srdiff-x4] [--input 96] [--steps 2,20]
import { createRuntime, planTiles } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { arg, fmt, mirroredSample, table } from './lib.mjs';

const modelSpecs = arg('models', 'sr3:sr3-x4,srdiff:srdiff-x4').split(',').map((p) => p.split(':'));
const inputSize = Number(arg('input', '96'));
const stepsList = arg('steps', '2,20').split(',').map(Number);

/** Mean absolute jump between neighbouring pixels across the given column and row boundaries, and elsewhere (planar data). */
function jumps(image, cols, rows) {
  const { width, height, data } = image;
  const bands = data.length / (width * height);
  const colSet = new Set(cols);
  const rowSet = new Set(rows);
  const sums = { border: 0, borderN: 0, interior: 0, interiorN: 0 };
  const add = (onBorder, d) => {
    if (onBorder) (sums.border += d), sums.borderN++;
    else (sums.interior += d), sums.interiorN++;
  };
  for (let b = 0; b < bands; b++) {
    const plane = b * width * height;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = plane + y * width + x;
        if (x > 0) add(colSet.has(x), Math.abs(data[i] - data[i - 1]));
        if (y > 0) add(rowSet.has(y), Math.abs(data[i] - data[i - width]));
      }
  }
  return { border: sums.border / sums.borderN, interior: sums.interior / sums.interiorN };
}

function psnr(a, b) {
  let se = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
    max = Math.max(max, Math.abs(d));
  }
  const mse = se / a.length;
  return { psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse), max };
}

const lr = await mirroredSample(inputSize);
const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [sr3Plugin] });
const rows = [];
let plan;
for (const [task, model] of modelSpecs) {
  let sr;
  try {
    sr = await runtime.load(task, { model });
  } catch (error) {
    if (error?.code === 'MODEL_NOT_FOUND') continue;
    throw error;
  }
  const scale = sr.model.manifest.scale;
  const out = inputSize * scale;
  const tile = sr.model.manifest.tile?.size ?? 128;
  const overlap = Math.floor(tile / 4);
  plan = planTiles({ width: out, height: out, tile, overlap, multipleOf: sr.model.manifest.tile?.multipleOf ?? 16 });
  // Tile edges, where one tile's pixels end and its neighbour's begin, in output pixels.
  const edges = [...new Set(plan.tiles.flatMap((t) => [t.x, t.x + t.width]).filter((v) => v > 0 && v < out))];
  for (const steps of stepsList) {
    const tiled = await sr.run(lr, { steps, seed: 0 });
    const whole = await sr.run(lr, { steps, seed: 0, tile: out });
    const diff = psnr(tiled.raster.data, whole.raster.data);
    const jt = jumps(tiled.raster, edges, edges);
    const jw = jumps(whole.raster, edges, edges);
    rows.push([
      model,
      `ddim, ${steps}`,
      `${plan.tiles.length} × ${tile}², overlap ${overlap}`,
      fmt(diff.psnr, 1),
      String(diff.max),
      `${fmt(jt.border, 2)} / ${fmt(jt.interior, 2)} (${fmt(jt.border / jt.interior, 3)})`,
      `${fmt(jw.border, 2)} / ${fmt(jw.interior, 2)} (${fmt(jw.border / jw.interior, 3)})`,
    ]);
  }
}
await runtime.close();

console.log(`### Tiling: seams (${inputSize}² input, ${inputSize * 4}² output, seed 0)\n`);
console.log(
  `Tiled: the SDK's default tiles, overlapping, all drawing from one noise field, fused at every step. Whole: one tile covering the image. Border jump: mean absolute difference (8-bit levels) between neighbouring pixels across the lines where tiles begin or end; interior: the same over every other pair of neighbours. A seam would raise the tiled border jump above the interior one while the whole-image output, at the same positions, stays at its interior level.\n`,
);
console.log(table(['model', 'sampler, steps', 'tiles', 'PSNR tiled vs whole (dB)', 'max abs diff', 'tiled: border / interior jump (ratio)', 'whole: border / interior jump (ratio)'], rows));
