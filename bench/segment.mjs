// Few-shot segmentation on held-out labelled aerial crops (FlightGear textures and their tree masks): mIoU of the
// MLP ensemble on DDPM features, on the features of an untrained UNet of the same architecture, and on raw pixels
// (RGB plus position); with training time, prediction seconds per megapixel and peak RSS, each variant in its own
// process so that its peak memory is its own.
// Needs: /usr/bin/python3 training/data/segment_set.py (the data) and, for the untrained baseline,
//   /usr/bin/python3 training/export.py ddpm-aerial --untrained --out ~/.cache/diffusekit/segment/backbones/ddpm-aerial-untrained
// Each k is measured on --draws k-shot sets (k5, k5-draw1, ...; default 3): one draw scores several points apart from
// the next, so the first table gives each network's mean and spread over the draws.
// --fit-test adds an upper bound: each network's ensemble trained on the test crops themselves and scored on them (how
// much of these labels the features can express at all, apart from carrying over between textures).
// Two protocols (training/data/segment_set.py), both scored on the same test crops of 6 held-out textures:
// "textures" labels crops of the backbone's training textures; "scenes" labels other crops of the held-out textures
// themselves. Both read each backbone's model.json read-out (select_features.mjs --protocol scenes --write).
// --backbone DIR scores another model folder as the DDPM variant (a snapshot exported with training/export.py --out),
// --outputs dec1 --timesteps 10 overrides the DDPM variant's read-out (both: how the card's training-steps curve is
// measured: every snapshot read the same way); --no-trainer leaves out the ensemble trainer's timing.
// Usage: node bench/segment.mjs [--protocols textures,scenes] [--shots 5,10] [--draws 3]
//          [--variants ddpm,untrained,pixels] [--fit-test] [--backbone DIR] [--outputs dec1 --timesteps 10] [--no-trainer]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, createRuntime, rasterToTensor } from '@diffusekit/core';
import {
  ConfusionMatrix,
  EnsembleClassifier,
  Segmenter,
  listLabelledImages,
  openFeatureBackbone,
  readLabelPalette,
  readLabelledImage,
  segmentPlugin,
  trainEnsemble,
  trainSegmenter,
  voteEnsemble,
} from '@diffusekit/segment';
import { arg, fmt, table } from './lib.mjs';

const cache = process.env.DIFFUSEKIT_CACHE ?? path.join(os.homedir(), '.cache', 'diffusekit');
const data = path.join(cache, 'segment', 'aerial-trees');
const untrainedDir = path.join(cache, 'segment', 'backbones');
const MAX_PIXELS = 100_000;
const backboneDir = arg('backbone', undefined);
const readoutOverride = {
  ...(arg('outputs', undefined) ? { outputs: arg('outputs').split(',') } : {}),
  ...(arg('timesteps', undefined) ? { timesteps: arg('timesteps').split(',').map(Number) } : {}),
};
/** The flags a child process needs to score the same DDPM variant. */
const ddpmFlags = ['backbone', 'outputs', 'timesteps'].flatMap((name) => (arg(name, undefined) ? [`--${name}`, arg(name)] : []));

async function readSet(dir, palette) {
  const pairs = await listLabelledImages(path.join(dir, 'images'), path.join(dir, 'masks'));
  return Promise.all(pairs.map((p) => readLabelledImage(p, palette)));
}

/** Raw-pixel features: RGB in [-1, 1] and the pixel's position in the image in [0, 1]. */
function pixelRows(raster, pixels, tensor = rasterToTensor(raster, { bands: [0, 1, 2], range: [-1, 1] })) {
  const t = tensor;
  const n = raster.width * raster.height;
  const rows = new Float32Array(pixels.length * 5);
  pixels.forEach((p, i) => {
    for (let c = 0; c < 3; c++) rows[i * 5 + c] = t.data[c * n + p];
    rows[i * 5 + 3] = (p % raster.width) / (raster.width - 1);
    rows[i * 5 + 4] = Math.floor(p / raster.width) / (raster.height - 1);
  });
  return rows;
}

const shotFolder = (shots, draw) => (draw === 'fit' ? 'test' : draw === 0 ? `k${shots}` : `k${shots}-draw${draw}`);
const protocolDir = (protocol) => (protocol === 'scenes' ? path.join(data, 'scenes') : data);

async function runVariant(variant, shots, draw, protocol) {
  const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [segmentPlugin], modelFolders: [untrainedDir] });
  const palette = await readLabelPalette(path.join(data, 'palette.json'));
  const train = await readSet(path.join(protocolDir(protocol), shotFolder(shots, draw)), palette);
  const test = await readSet(path.join(data, 'test'), palette);
  const started = performance.now();
  let featureSeconds = 0;
  let predict;
  let training;
  if (variant === 'pixels') {
    const labelled = train.flatMap((img, k) => [...img.labels.keys()].filter((p) => img.labels[p] !== 255).map((p) => [k, p]));
    const rng = createRng(0);
    for (let i = labelled.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [labelled[i], labelled[j]] = [labelled[j], labelled[i]];
    }
    const chosen = labelled.slice(0, MAX_PIXELS);
    const features = new Float32Array(chosen.length * 5);
    const labels = new Uint8Array(chosen.length);
    const tensors = train.map((img) => rasterToTensor(img.raster, { bands: [0, 1, 2], range: [-1, 1] }));
    chosen.forEach(([k, p], i) => {
      features.set(pixelRows(train[k].raster, [p], tensors[k]), i * 5);
      labels[i] = train[k].labels[p];
    });
    featureSeconds = (performance.now() - started) / 1000;
    const trained = await trainEnsemble({ features, labels, count: chosen.length, dim: 5 }, { engine: runtime.engine, classes: 2 });
    training = { epochs: trained.epochs, pixels: chosen.length, dim: 5 };
    const classifier = await EnsembleClassifier.open(runtime.engine, trained.weights);
    predict = async (raster) => {
      const n = raster.width * raster.height;
      const rows = pixelRows(raster, Array.from({ length: n }, (_, p) => p));
      return voteEnsemble(await classifier.probabilities(rows, n), trained.weights.members, n, 2).labels;
    };
  } else {
    const ref = variant === 'ddpm' ? (backboneDir ? { path: backboneDir } : 'ddpm-aerial') : 'ddpm-aerial-untrained';
    const backbone = await openFeatureBackbone(runtime.engine, await runtime.catalog.resolve(ref), variant === 'ddpm' ? readoutOverride : {});
    const trained = await trainSegmenter(train, {
      engine: runtime.engine,
      backbone,
      classes: palette.classes,
      maxPixels: MAX_PIXELS,
      onProgress: (p) => {
        if (p.kind === 'stage' && p.stage === 'train') featureSeconds = (performance.now() - started) / 1000;
      },
    });
    training = {
      epochs: trained.manifest.training.epochs, pixels: trained.manifest.training.labelledPixels, dim: backbone.dim,
      readout: `${backbone.outputs.map((o) => o.role).join('+')} at t = ${backbone.timesteps.join(', ')}`,
    };
    const segmenter = await Segmenter.create(runtime.engine, backbone, trained.manifest, trained.weights);
    predict = async (raster) => (await segmenter.segment(raster)).labels;
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const confusion = new ConfusionMatrix(2);
  const t0 = performance.now();
  let megapixels = 0;
  for (const img of test) {
    confusion.add(img.labels, await predict(img.raster));
    megapixels += img.labels.length / 1e6;
  }
  const predictSecondsPerMp = (performance.now() - t0) / 1000 / megapixels;
  await runtime.close();
  return {
    variant, shots, draw, protocol, trainImages: train.map((img) => img.name), ...training, featureSeconds, trainSeconds, ensembleSeconds: trainSeconds - featureSeconds,
    iou: confusion.iou(), meanIou: confusion.meanIou(), accuracy: confusion.pixelAccuracy(), predictSecondsPerMp,
    testImages: test.length, peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/**
 * The ensemble trainer alone on random features: 10 members, `count` pixels × `dim` features, two classes, a fixed
 * number of epochs (no early stop), at two batch sizes.
 */
async function runEngine(dim, batchSize, count = 100_000, epochs = 4) {
  const runtime = createRuntime({ engine: { provider: 'cpu' } });
  const rng = createRng(dim);
  const features = rng.normal(count * dim);
  const labels = Uint8Array.from({ length: count }, (_, i) => (features[i * dim] + features[i * dim + 1] > 0 ? 1 : 0));
  const epochSeconds = [];
  let last = performance.now();
  const t0 = last;
  await trainEnsemble({ features, labels, count, dim }, {
    engine: runtime.engine, classes: 2, batchSize, maxEpochs: epochs, minImprovement: -Infinity,
    onEpoch: () => {
      const now = performance.now();
      epochSeconds.push((now - last) / 1000);
      last = now;
    },
  });
  await runtime.close();
  return { dim, batchSize, count, epochs, seconds: (performance.now() - t0) / 1000, epochSeconds };
}

if (arg('engine', undefined)) {
  const [dim, batch] = arg('engine').split(',').map(Number);
  process.stdout.write(JSON.stringify(await runEngine(dim, batch)));
  process.exit(0);
}

const variantArg = arg('variant', undefined);
if (variantArg) {
  const draw = arg('draw', '0');
  process.stdout.write(JSON.stringify(await runVariant(variantArg, Number(arg('k', '5')), draw === 'fit' ? draw : Number(draw), arg('protocol', 'textures'))));
  process.exit(0);
}

if (!existsSync(path.join(data, 'manifest.json'))) {
  console.log(`### Few-shot segmentation\n\nSkipped: no data in ${data} (run /usr/bin/python3 training/data/segment_set.py).`);
  process.exit(0);
}
const shotsList = arg('shots', '5,10').split(',').map(Number);
const draws = Number(arg('draws', '3'));
const protocols = arg('protocols', 'textures,scenes').split(',');
for (const protocol of protocols) {
  for (const shots of shotsList) {
    for (let draw = 0; draw < draws; draw++) {
      if (!existsSync(path.join(protocolDir(protocol), shotFolder(shots, draw)))) {
        console.error(`segment: no k-shot set ${shotFolder(shots, draw)} in ${protocolDir(protocol)}: rerun /usr/bin/python3 training/data/segment_set.py`);
        process.exit(1);
      }
    }
  }
}
const variants = arg('variants', 'ddpm,untrained,pixels').split(',').filter((v) => v !== 'untrained' || existsSync(path.join(untrainedDir, 'ddpm-aerial-untrained', 'model.json')));
const results = [];
for (const protocol of protocols) {
  for (const shots of shotsList) {
    for (let draw = 0; draw < draws; draw++) {
      for (const variant of variants) {
        process.stderr.write(`segment: ${variant} ${protocol} ${shotFolder(shots, draw)}\n`);
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--variant', variant, '--k', String(shots), '--draw', String(draw), '--protocol', protocol, ...ddpmFlags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        results.push(JSON.parse(out));
      }
    }
  }
}
const fits = [];
if (process.argv.includes('--fit-test')) {
  for (const variant of variants) {
    process.stderr.write(`segment: ${variant} fit on the test crops\n`);
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--variant', variant, '--draw', 'fit', ...ddpmFlags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    fits.push(JSON.parse(out));
  }
}
const engineRuns = [];
for (const [dim, batch] of process.argv.includes('--no-trainer') ? [] : [[256, 256], [600, 256], [600, 64]]) {
  process.stderr.write(`segment: trainer ${dim} features, batch ${batch}\n`);
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--engine', `${dim},${batch}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  engineRuns.push(JSON.parse(out));
}
const names = { ddpm: `DDPM features (${backboneDir ? path.basename(path.resolve(backboneDir)) : 'ddpm-aerial'})`, untrained: 'untrained UNet, same architecture', pixels: 'raw pixels (RGB + position)' };
const nameOf = (r) => (r.readout ? `${names[r.variant]}: ${r.readout}` : names[r.variant]);
const manifest = (await import('node:fs')).readFileSync(path.join(data, 'manifest.json'), 'utf8');
const { test: testInfo } = JSON.parse(manifest);
console.log('### Few-shot segmentation: aerial trees\n');
console.log(`Classes other / trees from FlightGear's hand-painted tree masks; k labelled 256×256 crops per ensemble; test: ${testInfo.crops} crops of ${testInfo.crops / 4} held-out textures (trees ${fmt(100 * testInfo.trees_share, 1)} % of pixels). Ensemble of 10 MLPs (Baranchuk et al. 2022), at most ${MAX_PIXELS.toLocaleString('en')} labelled pixels, default options; built by \`training/data/segment_set.py\`. Each backbone reads the decoder outputs and timesteps of its model.json, chosen for it by \`training/select_features.mjs\`; no choice looks at the test crops.\n`);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const protocolNames = { textures: 'textures: labelled crops of training textures', scenes: 'scenes: labelled crops of the held-out textures' };
const summary = protocols.flatMap((protocol) => shotsList.flatMap((shots) => variants.map((variant) => {
  const runs = results.filter((r) => r.protocol === protocol && r.shots === shots && r.variant === variant);
  const mious = runs.map((r) => 100 * r.meanIou);
  return [protocolNames[protocol], String(shots), nameOf(runs[0]), `**${fmt(mean(mious))}** ± ${fmt(spread(mious))}`, mious.map((m) => fmt(m)).join(' / ')];
})));
console.log(`mIoU on the test crops, mean ± standard deviation over ${draws} k-shot draws (k${shotsList[0]}, k${shotsList[0]}-draw1, ...: the same pool, other seeds), each draw one 10-MLP ensemble. The "textures" protocol labels crops of the backbone's training textures and tests on other textures; "scenes" labels other crops of the 6 held-out textures (scenes/pool), whose validation crops (scenes/val) chose each network's read-out.\n`);
console.log(table(['protocol', 'k', 'features', 'mIoU (mean ± sd)', 'per draw'], summary));
console.log('\nEvery run:\n');
console.log(table(
  ['protocol', 'k', 'draw', 'features', 'dim', 'mIoU', 'IoU other', 'IoU trees', 'pixel acc.', 'pixels', 'epochs', 'features (s)', 'ensemble (s)', 'predict (s/MP)', 'peak RSS (MiB)'],
  results.map((r) => [r.protocol, String(r.shots), String(r.draw), nameOf(r), String(r.dim), fmt(100 * r.meanIou), fmt(100 * r.iou[0]), fmt(100 * r.iou[1]), fmt(100 * r.accuracy), r.pixels.toLocaleString('en'), String(r.epochs), fmt(r.featureSeconds), fmt(r.ensembleSeconds), fmt(r.predictSecondsPerMp), fmt(r.peakRssMiB, 0)]),
));

if (fits.length > 0) {
  console.log(`\nUpper bound (\`--fit-test\`): each ensemble trained on the ${testInfo.crops} test crops themselves (at most ${MAX_PIXELS.toLocaleString('en')} of their pixels) and scored on them. It measures how much of these labels each feature set can express, with no texture to carry over to:\n`);
  console.log(table(['features', 'mIoU', 'IoU other', 'IoU trees'], fits.map((r) => [nameOf(r), fmt(100 * r.meanIou), fmt(100 * r.iou[0]), fmt(100 * r.iou[1])])));
}

if (engineRuns.length > 0) {
  console.log('\n### Few-shot segmentation: the ensemble trainer\n');
  console.log('10 members (dim→128→32→2, BatchNorm, Adam lr 1e-3) on 100,000 pixels of random features, 4 epochs without early stop; one onnxruntime call per step for all members, Adam fused in JavaScript. The target is 10 members on 100k pixels of ≥ 256 features in ≤ 60 s.\n');
  console.log(table(['features', 'batch', 'total (s)', 'median epoch (s)'], engineRuns.map((r) => [String(r.dim), String(r.batchSize), fmt(r.seconds), fmt([...r.epochSeconds].sort((a, b) => a - b)[r.epochSeconds.length >> 1])])));
}
