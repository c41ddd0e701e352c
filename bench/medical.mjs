// Medical benchmarks on real MRI (the Colin27 T1 brain ch2 and the AAL atlas drawn on it, from Debian's mricron-data,
// fetched and checksummed by medical-data.mjs):
// 1. x4 super-resolution of axial slices: each ch2 slice (1 mm, 180x216) is box-averaged to 45x54 (4 mm in-plane, a
//    thick-voxel acquisition), each ch2better slice (0.5 mm, 300x368) to 75x92 (2 mm), and brought back by bicubic and
//    by the bundled SR models through the volume path of the SDK (a slice of a volume, mapped with the volume's value
//    range); PSNR/SSIM against the real slice.
// 2. Few-shot segmentation of axial ch2 slices into AAL lobes with k = 1, 5 or 10 labelled slices: the MLP ensemble on the
//    bundled DDPM backbone's features against the same ensemble on the features of an untrained network of the same
//    architecture (when bench/segment.mjs's baseline backbone is built) and on raw pixels (intensity and position),
//    mIoU over held-out slices. Each network's read-out (decoder outputs and timesteps) is chosen for MRI by the SDK's
//    selectReadout on validation slices that neither the k-shot sets nor the test slices include (as the paper picks
//    them per data set); --readout default uses each backbone's own model.json read-out (chosen on aerial crops).
// Usage: node bench/medical.mjs [--sr-slices 40,55,...] [--models sr3:sr3-x4,srdiff:srdiff-x4] [--skip-segment] [--skip-sr]
//        [--shots 1,5,10] [--readout select|default]
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng, createRuntime, readImageFile, rasterToTensor, volumeSlice } from '@diffusekit/core';
import { sr3Plugin } from '@diffusekit/sr3';
import { ConfusionMatrix, EnsembleClassifier, Segmenter, openFeatureBackbone, segmentPlugin, selectReadout, trainEnsemble, trainSegmenter, voteEnsemble } from '@diffusekit/segment';
import { arg, defaultsOf, fmt, mean, median, table, countOf } from './lib.mjs';
import { medicalData } from './medical-data.mjs';
import { bicubicUpscale, psnrY, ssimY } from './sr-metrics.mjs';

const data = medicalData();
const ch2 = (await readImageFile(data.ch2)).volume;

// ---- 1. super-resolution -------------------------------------------------------------------------------------------
const SCALE = 4;
const srSlices = arg('sr-slices', '40,55,70,85,100,115,130').split(',').map(Number);
const modelSpecs = arg('models', 'sr3:sr3-x4,srdiff:srdiff-x4').split(',').map((p) => p.split(':'));

/** The top-left W x H of an axial slice (whole 4x4 blocks), and its 4x4 box average as a slice of a coarser volume. */
function pair(volume, k, W, H) {
  const slice = volumeSlice(volume, 2, k);
  const hr = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) hr[y * W + x] = slice.data[y * slice.width + x];
  const w = W / SCALE;
  const h = H / SCALE;
  const lr = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < SCALE; dy++) for (let dx = 0; dx < SCALE; dx++) s += hr[(y * SCALE + dy) * W + x * SCALE + dx];
      lr[y * w + x] = Math.round(s / SCALE ** 2);
    }
  // The low-resolution slice carries the volume's metadata, so the task maps it with the volume's value range.
  const spacing = volume.medical.spacing;
  const medical = { ...slice.medical, dims: [w, h, volume.depth], spacing: [spacing[0] * SCALE, spacing[1] * SCALE, spacing[2]] };
  return { hr, lr: { ...slice, width: w, height: h, data: lr, medical }, spacing: spacing[0] };
}

const grey3 = (width, height, grey) => {
  const data = new Uint8Array(width * height * 3);
  for (let c = 0; c < 3; c++) data.set(grey, c * width * height);
  return { width, height, data };
};

// The "no diffusion training" baseline backbone of bench/segment.mjs (training/export.py ddpm-aerial --untrained), when built.
const untrainedDir = path.join(process.env.DIFFUSEKIT_CACHE ?? path.join(os.homedir(), '.cache', 'diffusekit'), 'segment', 'backbones');
const hasUntrained = existsSync(path.join(untrainedDir, 'ddpm-aerial-untrained', 'model.json'));
const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [sr3Plugin, segmentPlugin], modelFolders: hasUntrained ? [untrainedDir] : [] });
const skipSr = process.argv.includes('--skip-sr');
const models = [];
for (const [task, model] of skipSr ? [] : modelSpecs) {
  const sr = await runtime.load(task, { model });
  models.push({ model, sr, defaults: defaultsOf(sr) });
}

/** PSNR/SSIM of bicubic and of every model on one set of slices. */
async function srTable(pairs, W, H) {
  const hrs = pairs.map((p) => grey3(W, H, p.hr));
  const score = (outs) => ({ psnr: mean(outs.map((o, i) => psnrY(o, hrs[i]))), ssim: mean(outs.map((o, i) => ssimY(o, hrs[i]))) });
  const rows = [];
  const b = score(pairs.map((p) => bicubicUpscale(grey3(p.lr.width, p.lr.height, p.lr.data), SCALE)));
  rows.push(['bicubic (a = -0.75)', fmt(b.psnr, 2), fmt(b.ssim, 4), '–']);
  for (const { model, sr, defaults } of models) {
    await sr.run(pairs[0].lr, { seed: 0 }); // warm-up: onnxruntime allocates its arenas
    const outs = [];
    const seconds = [];
    for (const p of pairs) {
      const t0 = performance.now();
      const out = await sr.run(p.lr, { seed: 0 });
      seconds.push((performance.now() - t0) / 1000);
      if (Math.abs(out.raster.medical.spacing[0] - p.spacing) > 1e-9) throw new Error(`spacing not scaled: ${out.raster.medical.spacing}`);
      outs.push(grey3(W, H, out.raster.data));
    }
    const s = score(outs);
    rows.push([`${model} (${defaults.sampler}, ${countOf(defaults.steps, 'step')})`, fmt(s.psnr, 2), fmt(s.ssim, 4), fmt(median(seconds), 2)]);
  }
  return table(['method', 'PSNR (dB)', 'SSIM', 's / slice'], rows);
}

if (!skipSr) {
  const ch2Table = await srTable(srSlices.map((k) => pair(ch2, k, 180, 216)), 180, 216);
  // ch2better is the same brain at 0.5 mm: 4x4 blocks of it are 2 mm voxels, and the target has twice ch2's detail.
  const better = (await readImageFile(data.ch2better)).volume;
  const betterSlices = srSlices.map((k) => Math.round(((k - 71 + 69.5) / 0.5)));
  const betterTable = await srTable(betterSlices.map((k) => pair(better, k, 300, 368)), 300, 368);

  console.log(`### MRI super-resolution x4 (ch2 and ch2better axial slices)

Axial slices of the Colin27 T1 brain, cropped to whole 4×4 blocks and box-averaged 4×4 (thick in-plane voxels), then
brought back by bicubic and by the bundled models through the volume path (a slice of a volume, mapped into the
model's range with the volume's value range; spacing divided by 4 on output). PSNR/SSIM as in the other
super-resolution tables (grey replicated, Y channel, 4-pixel border cropped) against the real slice; seconds: median
per slice. Neither bundled model saw MRI in training (photos and aerial images).

ch2 (1 mm), ${srSlices.length} slices (k = ${srSlices.join(', ')}), 180×216 from 45×54 (4 mm → 1 mm):

${ch2Table}

ch2better (the same brain at 0.5 mm), the ${betterSlices.length} slices at the same heights (k = ${betterSlices.join(', ')}), 300×368 from
75×92 (2 mm → 0.5 mm):

${betterTable}
`);
}

// ---- 2. few-shot segmentation --------------------------------------------------------------------------------------
if (process.argv.includes('--skip-segment')) {
  await runtime.close();
  process.exit(0);
}

/** AAL regions grouped into lobes by name (index -> class); voxels outside every region are class 0. */
const CLASSES = ['no AAL region', 'frontal', 'parietal', 'temporal', 'occipital', 'limbic + deep grey', 'cerebellum'];
function lobeOf(name) {
  if (/^(Frontal|Precentral|Rolandic|Supp_Motor|Olfactory|Rectus|Paracentral)/.test(name)) return 1;
  if (/^(Parietal|Postcentral|SupraMarginal|Angular|Precuneus)/.test(name)) return 2;
  if (/^(Temporal|Heschl|Fusiform)/.test(name)) return 3;
  if (/^(Occipital|Calcarine|Cuneus|Lingual)/.test(name)) return 4;
  if (/^(Cingulum|Insula|Hippocampus|ParaHippocampal|Amygdala|Caudate|Putamen|Pallidum|Thalamus)/.test(name)) return 5;
  if (/^(Cerebelum|Vermis)/.test(name)) return 6;
  throw new Error(`AAL region ${name} has no lobe`);
}
const lobes = new Uint8Array(256);
for (const line of readFileSync(data.aalNames, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
  const [index, name] = line.trim().split(/\s+/);
  lobes[Number(index)] = lobeOf(name);
}
const aal = (await readImageFile(data.aal)).volume;
if (aal.width !== ch2.width || aal.height !== ch2.height || aal.depth !== ch2.depth) throw new Error('aal and ch2 grids differ');

const labelled = (k) => ({ name: `k=${k}`, raster: volumeSlice(ch2, 2, k), labels: Uint8Array.from(volumeSlice(aal, 2, k).data, (v) => lobes[v]) });
const SHOTS = { 1: [80], 5: [50, 65, 80, 95, 110], 10: [38, 48, 58, 68, 78, 88, 98, 108, 118, 128] };
const shotCounts = arg('shots', '1,5,10').split(',').map(Number);
const TEST = [45, 60, 75, 90, 105, 120];
/** Validation slices for choosing the read-out: in none of the k-shot sets and none of the test slices. */
const VALIDATION = [43, 55, 63, 73, 85, 100, 113, 124];
const test = TEST.map(labelled);
const MAX_PIXELS = 100_000;
const readoutMode = arg('readout', 'select');
if (!['select', 'default'].includes(readoutMode)) throw new Error(`--readout select|default, not ${readoutMode}`);

/** Each backbone's read-out for MRI: chosen on the validation slices with the 5-shot set, or the model.json default. */
const readouts = new Map();
const selections = [];
async function readoutFor(kind) {
  if (readoutMode === 'default') return undefined;
  if (!readouts.has(kind)) {
    const model = await runtime.catalog.resolve(kind === 'ddpm' ? 'ddpm-aerial' : 'ddpm-aerial-untrained');
    const result = await selectReadout(SHOTS[5].map(labelled), VALIDATION.map(labelled), { engine: runtime.engine, model, classes: CLASSES.length });
    selections.push({ kind, result });
    readouts.set(kind, { outputs: result.best.outputs, timesteps: result.best.timesteps });
  }
  return readouts.get(kind);
}

/** Raw-pixel features: intensity in [-1, 1] (volume range) and the pixel's position in the slice in [0, 1]. */
function pixelRows(raster) {
  const t = rasterToTensor(raster, { range: [-1, 1], stretch: { kind: 'fixed', min: [ch2.medical.valueRange[0]], max: [ch2.medical.valueRange[1]] } });
  const n = raster.width * raster.height;
  const rows = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    rows[p * 3] = t.data[p];
    rows[p * 3 + 1] = (p % raster.width) / (raster.width - 1);
    rows[p * 3 + 2] = Math.floor(p / raster.width) / (raster.height - 1);
  }
  return rows;
}

async function variant(kind, shots) {
  const train = SHOTS[shots].map(labelled);
  const chosenReadout = kind === 'pixels' ? undefined : await readoutFor(kind);
  const started = performance.now();
  let predict;
  let readout = '';
  if (kind === 'pixels') {
    const all = train.flatMap((img, i) => [...img.labels.keys()].map((p) => [i, p]));
    const rng = createRng(0);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    const chosen = all.slice(0, MAX_PIXELS);
    const rows = train.map((img) => pixelRows(img.raster));
    const features = new Float32Array(chosen.length * 3);
    const labels = new Uint8Array(chosen.length);
    chosen.forEach(([i, p], r) => {
      features.set(rows[i].subarray(p * 3, p * 3 + 3), r * 3);
      labels[r] = train[i].labels[p];
    });
    const trained = await trainEnsemble({ features, labels, count: chosen.length, dim: 3 }, { engine: runtime.engine, classes: CLASSES.length });
    const classifier = await EnsembleClassifier.open(runtime.engine, trained.weights);
    predict = async (raster) => {
      const n = raster.width * raster.height;
      return voteEnsemble(await classifier.probabilities(pixelRows(raster), n), trained.weights.members, n, CLASSES.length).labels;
    };
  } else {
    const backbone = await openFeatureBackbone(runtime.engine, await runtime.catalog.resolve(kind === 'ddpm' ? 'ddpm-aerial' : 'ddpm-aerial-untrained'), chosenReadout);
    const classes = CLASSES.map((name, i) => ({ name, color: [(i * 97) % 256, (i * 57) % 256, (i * 151) % 256] }));
    const trained = await trainSegmenter(train, { engine: runtime.engine, backbone, classes, maxPixels: MAX_PIXELS });
    const segmenter = await Segmenter.create(runtime.engine, backbone, trained.manifest, trained.weights);
    predict = async (raster) => (await segmenter.segment(raster)).labels;
    readout = `${backbone.outputs.map((o) => o.role).join('+')} at t = ${backbone.timesteps.join(', ')}: ${backbone.dim} per pixel`;
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const confusion = new ConfusionMatrix(CLASSES.length);
  const t0 = performance.now();
  for (const img of test) confusion.add(img.labels, await predict(img.raster));
  return { kind, shots, readout, trainSeconds, predictSeconds: (performance.now() - t0) / 1000 / test.length, iou: confusion.iou(), meanIou: confusion.meanIou(), accuracy: confusion.pixelAccuracy() };
}

const results = [];
for (const shots of shotCounts) for (const kind of ['ddpm', ...(hasUntrained ? ['untrained'] : []), 'pixels']) results.push(await variant(kind, shots));
await runtime.close();
const name = (r) => ({ ddpm: `ddpm-aerial features (${r.readout})`, untrained: `untrained UNet, same architecture (${r.readout})`, pixels: 'raw pixels (intensity, x, y)' })[r.kind];
console.log(`### Few-shot MRI segmentation (ch2 slices, AAL lobes)

The AAL atlas (116 regions drawn on this brain) grouped into ${CLASSES.length} classes: ${CLASSES.join(', ')} (white matter, CSF and
the outside are "no AAL region"). Trained on k labelled axial slices of ch2 (k = 1: slice 80; k = 5: slices
${SHOTS[5].join(', ')}; k = 10: slices ${SHOTS[10].join(', ')}), evaluated on ${TEST.length} held-out axial slices (${TEST.join(', ')}), 181×217 each; 10-member MLP ensembles
on at most ${MAX_PIXELS / 1000}k labelled pixels. The only bundled backbone, \`ddpm-aerial\`, was trained on aerial images, not MRI; the untrained network (same
architecture, PyTorch's default initialisation, seed 0) shows what its training adds. ${readoutMode === 'select'
  ? `Each network's read-out was chosen for MRI by \`selectReadout\` (\`diffusekit segment select\`) on ${VALIDATION.length} validation slices (${VALIDATION.join(', ')}) that no k-shot set and no test slice includes, training on the k = 5 slices (${selections[0]?.result.repeats ?? 1} × 5-member ensembles per candidate, 50k pixels; table below), and is used for every k.`
  : "Each network reads the outputs and timesteps of its model.json (chosen on aerial validation crops, not on MRI)."}

${table(['k', 'features', 'mIoU', 'pixel acc.', ...CLASSES.map((c) => `IoU ${c}`), 'train s', 'predict s / slice'], results.map((r) => [
  r.shots, name(r), fmt(r.meanIou, 3), fmt(r.accuracy, 3), ...r.iou.map((v) => fmt(v, 2)), fmt(r.trainSeconds, 0), fmt(r.predictSeconds, 1),
]))}
${selections.map(({ kind, result }) => `
Read-out selection for ${kind === 'ddpm' ? '`ddpm-aerial`' : 'the untrained network'} (validation mIoU; best: ${result.best.outputs.join('+')} at t = ${result.best.timesteps.join(', ')}):

${table(['outputs', 'timesteps', 'features', 'validation mIoU'], result.tried.map((t) => [t.outputs.join('+'), t.timesteps.join(', '), t.dim, fmt(t.meanIou, 3)]))}
`).join('')}`);
