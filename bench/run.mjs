// Runs every benchmark (or those named on the command line) and writes their tables into docs/benchmarks.md.
// Usage: npm run bench [-- event-loop schedulers ...]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'docs', 'benchmarks.md');
const ALL = ['event-loop', 'schedulers', 'loop-overhead', 'http-load', 'sr-quality', 'sr-tile', 'tiling', 'grid', 'torch-vs-runtime', 'large-image', 'tiff-writers', 'nifti-4d', 'jpeg-restore', 'inpaint', 'segment', 'medical-sr', 'medical', 'queue'];
/** Benchmarks that run another one's script with their own arguments (one section each, so each can be re-run alone). */
const SCRIPT = { 'medical-sr': 'medical' };
const root = path.join(here, '..');
const sr3Model = path.join(root, 'packages', 'sr3', 'models', 'sr3-x4', 'model.onnx');
/** Arguments each benchmark runs with when collected here. */
const ARGS = {
  schedulers: existsSync(sr3Model) ? ['--model', sr3Model] : [],
  'sr-quality': ['--curve-n', '1'],
  inpaint: ['--n', '8', '--grid', path.join(root, 'docs', 'inpaint-samples.png')],
  segment: ['--fit-test'],
  'medical-sr': ['--skip-segment'],
  medical: ['--skip-sr'],
};
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = chosen.length ? chosen : ALL;

// Sections are kept between runs so that benchmarking one script does not erase the others' results.
const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
const sections = new Map([...previous.matchAll(/<!-- bench:([\w-]+) -->\n([\s\S]*?)<!-- \/bench -->/g)].map((m) => [m[1], m[2]]));

for (const name of names) {
  const script = path.join(here, `${SCRIPT[name] ?? name}.mjs`);
  if (!existsSync(script)) throw new Error(`No benchmark ${name}. Known: ${ALL.join(', ')}`);
  process.stderr.write(`running ${name}...\n`);
  const text = execFileSync(process.execPath, [script, ...(ARGS[name] ?? [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  // A benchmark that could not run (its data is missing here) must not erase the results measured where it could.
  const skipped = /^###[^\n]*\n+Skipped:\s*(.*)/.exec(text.trim());
  if (skipped && sections.has(name)) {
    process.stderr.write(`${name} skipped, previous results kept: ${skipped[1]}\n`);
    continue;
  }
  sections.set(name, `${text.trim()}\n\n_Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}._\n`);
}

const body = ALL.filter((n) => sections.has(n)).map((n) => `<!-- bench:${n} -->\n${sections.get(n)}<!-- /bench -->`);
writeFileSync(
  out,
  `# Benchmarks\n\nWritten by \`npm run bench\`; every number is a median of repeated runs measured side by side in one process, on a shared\nmachine, so compare ratios within a table rather than absolute times across tables.\n\n${body.join('\n\n')}\n`,
);
process.stderr.write(`wrote ${out}\n`);
