// Chooses a segmentation backbone's default feature read-out (which decoder outputs, at which timesteps) on a
// labelled validation split, as Baranchuk et al. 2022 do, and can record the choice in the backbone's model.json.
//
// Data: the "aerial-trees" set of training/data/segment_set.py. Ensembles train on its k-shot set; the validation
// images are crops of the labelled pool that no k-shot set uses (textures of the backbone's training split; the
// benchmark's test crops come from other textures and are never looked at here). Every candidate read-out trains the
// same ensemble on the same labelled pixels and is scored by mIoU on the same validation pixels. Two stages: the
// timestep set with every output, then subsets of the outputs at the best timesteps.
//
// Usage (after npm run build):
//   node training/select_features.mjs [--backbone ddpm-aerial] [--shots 5] [--val 24] [--timesteps 10,50,150,250,400]
//        [--out selection.json] [--write]
//   node training/select_features.mjs --backbone ddpm-aerial --from selection.json   (write a saved --out result)
// --write puts the winner and the whole table into the backbone's model.json ("features"); ensembles trained before
// keep their own read-out (ensemble.json), so they stay valid. A re-export of the backbone resets the read-out to
// training/dktrain/registry.py's default: run this again on the new weights.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng, createRuntime } from '@diffusekit/core';
import {
  ConfusionMatrix,
  EnsembleClassifier,
  backboneInput,
  defaultBands,
  openFeatureBackbone,
  pixelFeatures,
  readLabelPalette,
  readLabelledImage,
  segmentPlugin,
  trainEnsemble,
  voteEnsemble,
} from '@diffusekit/segment';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const backboneId = arg('backbone', 'ddpm-aerial');
const shots = Number(arg('shots', '5'));
const valCount = Number(arg('val', '24'));
const candidateTimesteps = arg('timesteps', '10,50,150,250,400').split(',').map(Number);
const outFile = arg('out', undefined);
const VAL_PIXELS_PER_IMAGE = 4096;
const TRAIN_PIXELS = 50_000;
const MEMBERS = 5;
const SEED = 0;

/** Puts a read-out and its selection record into a backbone's model.json (written beside it, then renamed). */
function writeReadout(folder, best, selection) {
  const file = path.join(folder, 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.features = { outputs: best.outputs, timesteps: best.timesteps, selection };
  writeFileSync(`${file}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
  console.error(`wrote the read-out ${best.outputs.join(', ')} at ${best.timesteps.join(', ')} into ${file}`);
}

const cache = process.env.DIFFUSEKIT_CACHE ?? path.join(os.homedir(), '.cache', 'diffusekit');
const data = path.join(cache, 'segment', 'aerial-trees');
const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [segmentPlugin], modelFolders: [path.join(cache, 'segment', 'backbones')] });
const model = await runtime.catalog.resolve(backboneId);
const savedResult = arg('from', undefined);
if (savedResult) {
  const saved = JSON.parse(readFileSync(savedResult, 'utf8'));
  if (saved.backbone !== backboneId) throw new Error(`${savedResult} was measured on ${saved.backbone}, not ${backboneId}`);
  writeReadout(model.dir, saved.best, saved.selection);
  await runtime.close();
  process.exit(0);
}
const allOutputs = model.manifest.features.outputs;
const superset = await openFeatureBackbone(runtime.engine, model, { outputs: allOutputs, timesteps: candidateTimesteps });
const palette = await readLabelPalette(path.join(data, 'palette.json'));
const classCount = palette.classes.length;

const stem = (file) => file.replace(/\.[^.]+$/, '');
const pairsIn = (dir, names) => names.map((n) => ({ name: stem(n), image: path.join(dir, 'images', n), mask: path.join(dir, 'masks', `${stem(n)}.png`) }));
const shotNames = new Set(readdirSync(data).filter((d) => /^k\d+$/.test(d)).flatMap((d) => readdirSync(path.join(data, d, 'images')).map(stem)));
const poolNames = readdirSync(path.join(data, 'pool', 'images')).filter((n) => !shotNames.has(stem(n))).sort();
const rng = createRng(20261203);
for (let i = poolNames.length - 1; i > 0; i--) {
  const j = Math.floor(rng.uniform() * (i + 1));
  [poolNames[i], poolNames[j]] = [poolNames[j], poolNames[i]];
}
const read = (pairs) => Promise.all(pairs.map((p) => readLabelledImage(p, palette)));
const train = await read(pairsIn(path.join(data, `k${shots}`), readdirSync(path.join(data, `k${shots}`, 'images')).sort()));
const val = await read(pairsIn(path.join(data, 'pool'), poolNames.slice(0, valCount)));

/** Features (every candidate column) and labels of chosen labelled pixels of a set of images. */
async function rowsOf(images, choose) {
  const parts = [];
  for (const img of images) {
    const pixels = choose(img);
    const image = backboneInput(img.raster, superset, defaultBands(img.raster, superset.channels));
    const xs = Int32Array.from(pixels, (p) => p % img.raster.width);
    const ys = Int32Array.from(pixels, (p) => Math.floor(p / img.raster.width));
    parts.push({ features: await pixelFeatures(superset, image, xs, ys, { seed: SEED }), labels: Uint8Array.from(pixels, (p) => img.labels[p]) });
  }
  const count = parts.reduce((s, p) => s + p.labels.length, 0);
  const features = new Float32Array(count * superset.dim);
  const labels = new Uint8Array(count);
  let row = 0;
  for (const p of parts) {
    features.set(p.features, row * superset.dim);
    labels.set(p.labels, row);
    row += p.labels.length;
  }
  return { features, labels, count };
}
const labelledPixels = (img) => [...img.labels.keys()].filter((p) => img.labels[p] !== 255);
function sample(pixels, n, seed) {
  const r = createRng(seed);
  const a = pixels.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n).sort((x, y) => x - y);
}
const perTrainImage = Math.ceil(TRAIN_PIXELS / train.length);
const t0 = performance.now();
const trainRows = await rowsOf(train, (img) => sample(labelledPixels(img), perTrainImage, 1));
const valRows = await rowsOf(val, (img) => sample(labelledPixels(img), VAL_PIXELS_PER_IMAGE, 2));
console.error(`features: ${trainRows.count} training and ${valRows.count} validation pixels × ${superset.dim} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

/** Column indices of a read-out within the superset's feature vector (timestep-major, outputs in manifest order). */
function columnsOf(outputs, timesteps) {
  const perTimestep = superset.outputs.reduce((s, o) => s + o.channels, 0);
  const cols = [];
  for (const t of timesteps) {
    const base = candidateTimesteps.indexOf(t) * perTimestep;
    let offset = 0;
    for (const o of superset.outputs) {
      if (outputs.includes(o.role)) for (let c = 0; c < o.channels; c++) cols.push(base + offset + c);
      offset += o.channels;
    }
  }
  return cols;
}
function pick(rows, cols) {
  const out = new Float32Array(rows.count * cols.length);
  for (let r = 0; r < rows.count; r++) {
    const src = r * superset.dim;
    const dst = r * cols.length;
    for (let j = 0; j < cols.length; j++) out[dst + j] = rows.features[src + cols[j]];
  }
  return out;
}

async function score(outputs, timesteps) {
  const cols = columnsOf(outputs, timesteps);
  const started = performance.now();
  const trained = await trainEnsemble({ features: pick(trainRows, cols), labels: trainRows.labels, count: trainRows.count, dim: cols.length }, { engine: runtime.engine, classes: classCount, members: MEMBERS, seed: SEED });
  const classifier = await EnsembleClassifier.open(runtime.engine, trained.weights);
  const n = valRows.count;
  const votes = voteEnsemble(await classifier.probabilities(pick(valRows, cols), n), trained.weights.members, n, classCount);
  const confusion = new ConfusionMatrix(classCount);
  confusion.add(valRows.labels, votes.labels);
  const result = { outputs: [...outputs], timesteps: [...timesteps], dim: cols.length, score: confusion.meanIou(), seconds: (performance.now() - started) / 1000 };
  console.error(`${outputs.join('+')} @ ${timesteps.join(',')}: mIoU ${(100 * result.score).toFixed(1)} (${cols.length} features, ${result.seconds.toFixed(0)} s)`);
  return result;
}

const tried = [];
const timestepSets = [
  ...candidateTimesteps.map((t) => [t]),
  [50, 150, 250],
  ...[[10, 50, 150], [150, 250, 400], candidateTimesteps].filter((set) => set.every((t) => candidateTimesteps.includes(t))),
].filter((set, i, all) => all.findIndex((s) => s.join() === set.join()) === i);
for (const ts of timestepSets) tried.push(await score(allOutputs, ts));
const bestTimesteps = tried.reduce((a, b) => (b.score > a.score ? b : a)).timesteps;
const subsets = [];
for (let mask = 1; mask < (1 << allOutputs.length) - 1; mask++) subsets.push(allOutputs.filter((_, i) => mask & (1 << i)));
for (const outputs of subsets) tried.push(await score(outputs, bestTimesteps));
const best = tried.reduce((a, b) => (b.score > a.score ? b : a));
await runtime.close();

const selection = {
  dataset: `aerial-trees (training/data/segment_set.py): ${train.length} labelled crops (k${shots}), ${val.length} validation crops of the labelled pool that no k-shot set uses, ${VAL_PIXELS_PER_IMAGE} pixels each; ${MEMBERS}-member ensembles on ${trainRows.count} pixels (training/select_features.mjs)`,
  trainImages: train.length,
  validationImages: val.length,
  metric: 'mIoU',
  score: Number(best.score.toFixed(4)),
  tried: tried.map((t) => ({ outputs: t.outputs, timesteps: t.timesteps, score: Number(t.score.toFixed(4)) })),
};
const lines = ['| outputs | timesteps | features | validation mIoU |', '| --- | --- | --- | --- |', ...tried.map((t) => `| ${t.outputs.join(', ')} | ${t.timesteps.join(', ')} | ${t.dim} | ${(100 * t.score).toFixed(1)} |`)];
console.log(`Backbone ${backboneId}; best: ${best.outputs.join(', ')} at ${best.timesteps.join(', ')} (${(100 * best.score).toFixed(1)} mIoU)\n\n${lines.join('\n')}`);
if (outFile) writeFileSync(outFile, JSON.stringify({ backbone: backboneId, best, selection }, null, 2) + '\n');
if (argv.includes('--write')) writeReadout(model.dir, best, selection);
