// Shared helpers for benchmark scripts: medians, machine description, markdown tables.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/**
 * The bundled aerial sample mirrored out to size × size (real pixels everywhere, no flat padding): the input of the
 * speed, seam and memory benchmarks. Rasters are planar: band b, pixel (x, y) at b * width * height + y * width + x.
 */
export async function mirroredSample(size) {
  const { readImageFile } = await import('@diffusekit/core');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { raster } = await readImageFile(path.join(here, '..', 'samples', 'aerial-town.png'));
  const mirror = (i, n) => {
    const m = i % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  };
  const { width, height, bands } = raster;
  const data = new Uint8Array(size * size * bands);
  for (let b = 0; b < bands; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) data[(b * size + y) * size + x] = raster.data[(b * height + mirror(y, height)) * width + mirror(x, width)];
  return { width: size, height: size, bands, dtype: raster.dtype, data };
}

export function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Extra model folders named by DIFFUSEKIT_MODELS (path-delimiter separated), as the command line reads them. */
export function modelFoldersFromEnv() {
  return (process.env.DIFFUSEKIT_MODELS ?? '').split(path.delimiter).filter(Boolean);
}

/** The sampler and step count a loaded task's model declares as its defaults. */
export function defaultsOf(task) {
  const { defaultSampler, defaultSteps } = task.model.manifest.diffusion;
  return { sampler: defaultSampler, steps: defaultSteps };
}

/** "1 step", "4 steps", "1 crop". */
export const countOf = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** --n as a number, or undefined when not given (then a benchmark takes every held-out crop). */
export const capArg = () => (arg('n', undefined) === undefined ? undefined : Number(arg('n')));

/**
 * "36 aerial and 26 photo crops of 256×256 from the test split (never trained on; ...)": what a benchmark's rows
 * averaged, and how bench/make-sr-eval-set.py's set (its set.json) relates to the whole split.
 */
export function heldOutSetDescription(evalDir, counts, cap) {
  const file = path.join(evalDir, 'set.json');
  let relation = 'a subset of unknown size; rebuild it with bench/make-sr-eval-set.py';
  if (existsSync(file)) {
    const set = JSON.parse(readFileSync(file, 'utf8'));
    relation = Object.values(set).every((d) => d.crops === d.split)
      ? "all of its crops: the population of the model cards' test tables"
      : `${Object.entries(set).map(([domain, d]) => `${d.crops} of ${d.split} ${domain}`).join(', ')} crops, spread over it`;
  }
  const used = Object.entries(counts).map(([domain, count]) => `${count} ${domain}`).join(' and ');
  return `${used} crops of 256×256 from the test split (never trained on; ${relation}${cap === undefined ? '' : `; the first ${cap} per domain here`})`;
}

/** A held-out evaluation folder that the bench/make-*-eval-set.py scripts write, under the cache. */
export function evalFolder(name) {
  return path.join(process.env.DIFFUSEKIT_CACHE ?? path.join(os.homedir(), '.cache', 'diffusekit'), 'eval', name);
}

/** The first n (all when undefined) HR/LR pairs of one domain of a super-resolution evaluation folder; HR as plain images. */
export async function srPairs(evalDir, domain, n) {
  const { readImageFile } = await import('@diffusekit/core');
  const dir = path.join(evalDir, domain);
  const names = readdirSync(dir).filter((f) => f.endsWith('_hr.png')).sort().slice(0, n);
  return Promise.all(
    names.map(async (f) => {
      const hr = (await readImageFile(path.join(dir, f))).raster;
      return { hr: { width: hr.width, height: hr.height, data: hr.data }, lr: (await readImageFile(path.join(dir, f.replace('_hr', '_lr')))).raster };
    }),
  );
}
