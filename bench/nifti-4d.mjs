// Reading 4-D NIfTI (an fMRI-like series) volume by volume: time and peak memory of taking one volume out of a
// .nii.gz with decodeImage({ volumeIndex }) (inflates up to that volume, keeps only its bytes), of all volumes in one
// pass with readNiftiVolumes, against inflating the whole file first (what a reader without volume access does). Each
// case runs in its own process, so that its peak resident memory (maxRSS) is its own. Seconds: median of 3.
// Usage: node bench/nifti-4d.mjs [--volumes 150]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeImage, readNiftiVolumes, writeNiftiSeriesFile } from '@diffusekit/core';
import { arg, fmt, median, table } from './lib.mjs';

const [W, H, D] = [64, 64, 36];
const childCase = arg('case', '');

if (childCase) {
  const bytes = readFileSync(arg('file', ''));
  const last = Number(arg('volumes', '0')) - 1;
  const runs = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    if (childCase === 'whole') {
      const all = gunzipSync(bytes);
      const volumeBytes = W * H * D * 2;
      const at = all.byteOffset + all.readFloatLE(108) + last * volumeBytes;
      new Int16Array(all.buffer.slice(at, at + volumeBytes));
    } else if (childCase === 'first' || childCase === 'last') {
      await decodeImage(bytes, { volumeIndex: childCase === 'first' ? 0 : last });
    } else {
      let n = 0;
      for await (const v of readNiftiVolumes(bytes, 1 << 27)) n += v.data.length;
      if (n !== W * H * D * (last + 1)) throw new Error('volumes missing');
    }
    runs.push((performance.now() - start) / 1000);
  }
  process.stdout.write(JSON.stringify({ seconds: median(runs), maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const volumes = Number(arg('volumes', '150'));
// An fMRI-like series: a smooth head-shaped signal that drifts slowly over time, plus noise.
const data = new Int16Array(W * H * D * volumes);
let seed = 7;
const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 40;
for (let t = 0, i = 0; t < volumes; t++) {
  for (let k = 0; k < D; k++) for (let j = 0; j < H; j++) for (let x = 0; x < W; x++, i++) {
    const r = Math.hypot((x - W / 2) / (W / 2.4), (j - H / 2) / (H / 2.2), (k - D / 2) / (D / 2.2));
    data[i] = r < 1 ? Math.round(800 + 200 * Math.cos(r * 6) + 10 * Math.sin(t / 9) + noise()) : Math.round(noise());
  }
}
// Written as a 4-D .nii.gz by writeNiftiSeriesFile (an independent check that the reader opens what the writer wrote).
const dir = mkdtempSync(path.join(tmpdir(), 'diffusekit-bench-nifti4d-'));
const file = path.join(dir, 'series.nii.gz');
const plane = W * H * D;
const medical = { format: 'nifti', dims: [W, H, D], spacing: [3, 3, 3.5], affine: [3, 0, 0, -96, 0, 3, 0, -96, 0, 0, 3.5, -63, 0, 0, 0, 1] };
async function* series() {
  for (let t = 0; t < volumes; t++) yield { width: W, height: H, depth: D, dtype: 'int16', data: data.subarray(t * plane, (t + 1) * plane), medical };
}
await writeNiftiSeriesFile(file, volumes, series());
const compressed = readFileSync(file);
const here = fileURLToPath(import.meta.url);
const cases = [
  ['whole', 'inflate the whole file, then take the last volume (gunzipSync)'],
  ['first', 'decodeImage, volumeIndex 0'],
  ['last', `decodeImage, volumeIndex ${volumes - 1}`],
  ['all', 'readNiftiVolumes, every volume in one pass'],
];
const rows = cases.map(([name, label]) => {
  const result = JSON.parse(execFileSync(process.execPath, [here, '--case', name, '--file', file, '--volumes', String(volumes)], { encoding: 'utf8' }));
  return [label, fmt(result.seconds, 3), fmt(result.maxRssMiB, 0)];
});
rmSync(dir, { recursive: true, force: true });
const rawMiB = (W * H * D * volumes * 2) / 2 ** 20;
process.stdout.write(`### 4-D NIfTI: one volume out of a series

A synthetic fMRI-like series, ${W}×${H}×${D} voxels × ${volumes} volumes of int16 (${fmt(rawMiB, 0)} MiB of voxels,
${fmt(compressed.length / 2 ** 20, 0)} MiB gzipped; one volume ${fmt((W * H * D * 2) / 2 ** 20, 2)} MiB), read in a fresh process per case. "peak MiB": the
process's maximum resident memory (Node itself, the module graph and the compressed file included).

${table(['read', 'seconds', 'peak MiB'], rows)}
`);
