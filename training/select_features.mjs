// Chooses a segmentation backbone's default feature read-out (which decoder outputs, at which timesteps) on a
// labelled validation split, as Baranchuk et al. 2022 do, and can record the choice in the backbone's model.json.
// The selection itself is the SDK's selectReadout (the same one "diffusekit segment select" runs on any data set);
// this script fixes the data: the "aerial-trees" set of training/data/segment_set.py. Ensembles train on its k-shot
// set; the validation images are crops of the labelled pool from textures that no k-shot set shows (--val-from
// textures, the default; --val-from crops allows other crops of the k-shot textures, the choice before 2026-12-03).
// All are textures of the backbone's training split; the benchmark's test crops come from other textures and are
// never looked at here.
//
// Usage (after npm run build):
//   node training/select_features.mjs [--backbone ddpm-aerial] [--shots 5] [--val 24] [--timesteps 10,50,150,250,400]
//        [--val-from textures|crops] [--protocol textures|scenes] [--out selection.json] [--write]
// --protocol scenes trains on scenes/k<shots> and validates on scenes/val: crops of the held-out textures themselves
// (segment_set.py's "scenes" protocol), which chose the bundled default.
//   node training/select_features.mjs --backbone ddpm-aerial --from selection.json   (write a saved --out result)
// --write puts the winner and the whole table into the backbone's model.json ("features"); ensembles trained before
// keep their own read-out (ensemble.json), so they stay valid. A re-export of the backbone resets the read-out to
// training/dktrain/registry.py's default: run this again on the new weights.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng, createRuntime } from '@diffusekit/core';
import { featureSelectionRecord, readLabelPalette, readLabelledImage, segmentPlugin, selectReadout } from '@diffusekit/segment';

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
const valFrom = arg('val-from', 'textures');
const protocol = arg('protocol', 'textures');
if (protocol !== 'textures' && protocol !== 'scenes') throw new Error(`--protocol is textures or scenes, not ${protocol}`);
if (valFrom !== 'textures' && valFrom !== 'crops') throw new Error(`--val-from is textures or crops, not ${valFrom}`);
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
const palette = await readLabelPalette(path.join(data, 'palette.json'));
const classCount = palette.classes.length;

const stem = (file) => file.replace(/\.[^.]+$/, '');
const pairsIn = (dir, names) => names.map((n) => ({ name: stem(n), image: path.join(dir, 'images', n), mask: path.join(dir, 'masks', `${stem(n)}.png`) }));
const textureOf = (name) => name.replace(/_\d+_\d+$/, '');
const shotNames = new Set(readdirSync(data).filter((d) => /^k\d+$/.test(d)).flatMap((d) => readdirSync(path.join(data, d, 'images')).map(stem)));
const shotTextures = new Set([...shotNames].map(textureOf));
// Validation by whole texture (as the test split is): FlightGear's masks follow each texture's own painting, so crops
// of a texture the k-shot set also shows reward read-outs that memorise that texture, not ones that carry over.
const poolNames = readdirSync(path.join(data, 'pool', 'images'))
  .filter((n) => !shotNames.has(stem(n)) && (valFrom === 'crops' || !shotTextures.has(textureOf(stem(n)))))
  .sort();
const rng = createRng(20261203);
for (let i = poolNames.length - 1; i > 0; i--) {
  const j = Math.floor(rng.uniform() * (i + 1));
  [poolNames[i], poolNames[j]] = [poolNames[j], poolNames[i]];
}
const read = (pairs) => Promise.all(pairs.map((p) => readLabelledImage(p, palette)));
const base = protocol === 'scenes' ? path.join(data, 'scenes') : data;
const train = await read(pairsIn(path.join(base, `k${shots}`), readdirSync(path.join(base, `k${shots}`, 'images')).sort()));
const val = protocol === 'scenes'
  ? await read(pairsIn(path.join(base, 'val'), readdirSync(path.join(base, 'val', 'images')).sort().slice(0, valCount)))
  : await read(pairsIn(path.join(data, 'pool'), poolNames.slice(0, valCount)));

const result = await selectReadout(train, val, {
  engine: runtime.engine,
  model,
  classes: classCount,
  timesteps: candidateTimesteps,
  members: MEMBERS,
  trainPixels: TRAIN_PIXELS,
  validationPixelsPerImage: VAL_PIXELS_PER_IMAGE,
  seed: SEED,
  onCandidate: (c, i, of) => console.error(`${i}/${of} ${c.outputs.join('+')} @ ${c.timesteps.join(',')}: mIoU ${(100 * c.meanIou).toFixed(1)} (${c.dim} features, ${c.seconds.toFixed(0)} s)`),
});
await runtime.close();
const { best, tried } = result;

const selection = featureSelectionRecord(
  result,
  protocol === 'scenes'
    ? `aerial-trees, scenes protocol (training/data/segment_set.py): ${train.length} labelled crops (scenes/k${shots}) and ${val.length} validation crops (scenes/val) of the ${new Set(val.map((v) => textureOf(v.name))).size} held-out textures, ${VAL_PIXELS_PER_IMAGE} pixels each; ${result.repeats} × ${MEMBERS}-member ensembles on ${result.trainPixels} pixels (training/select_features.mjs --protocol scenes)`
    : `aerial-trees (training/data/segment_set.py): ${train.length} labelled crops (k${shots}), ${val.length} validation crops of the labelled pool ${valFrom === 'textures' ? `from ${new Set(val.map((v) => textureOf(v.name))).size} textures that no k-shot set shows` : 'that no k-shot set uses'}, ${VAL_PIXELS_PER_IMAGE} pixels each; ${result.repeats} × ${MEMBERS}-member ensembles on ${result.trainPixels} pixels (training/select_features.mjs)`,
);
const lines = ['| outputs | timesteps | features | validation mIoU |', '| --- | --- | --- | --- |', ...tried.map((t) => `| ${t.outputs.join(', ')} | ${t.timesteps.join(', ')} | ${t.dim} | ${(100 * t.meanIou).toFixed(1)} |`)];
console.log(`Backbone ${backboneId}; best: ${best.outputs.join(', ')} at ${best.timesteps.join(', ')} (${(100 * best.meanIou).toFixed(1)} mIoU)\n\n${lines.join('\n')}`);
if (outFile) writeFileSync(outFile, JSON.stringify({ backbone: backboneId, best: { outputs: best.outputs, timesteps: best.timesteps }, selection }, null, 2) + '\n');
if (argv.includes('--write')) writeReadout(model.dir, best, selection);
