import type { Runtime } from '@diffusekit/core';
import { writeLine, type CliIo } from '../io.js';

export async function modelsCommand(runtime: Runtime, flags: { json: boolean }, io: CliIo): Promise<number> {
  const models = await runtime.models();
  const rows = models.map(({ manifest, dir }) => ({
    id: manifest.id,
    version: manifest.version,
    modelTask: manifest.task,
    tasks: runtime.tasks.filter((t) => t.accepts(manifest)).map((t) => t.id),
    scale: manifest.scale ?? null,
    sampler: manifest.diffusion.defaultSampler,
    steps: manifest.diffusion.defaultSteps,
    dir,
  }));
  if (flags.json) {
    writeLine(io.stdout, JSON.stringify({ models: rows }));
    return 0;
  }
  if (rows.length === 0) {
    writeLine(io.stdout, 'No models installed.');
    return 0;
  }
  const table = [['ID', 'VERSION', 'TASKS', 'SCALE', 'DEFAULT SAMPLER'], ...rows.map((r) => [r.id, r.version, r.tasks.join(',') || `(${r.modelTask})`, r.scale ? `x${r.scale}` : '-', `${r.sampler} ${r.steps}`])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table) writeLine(io.stdout, row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
  return 0;
}
