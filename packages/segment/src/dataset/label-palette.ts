import { readFile } from 'node:fs/promises';
import { DiffusekitError } from '@diffusekit/core';
import type { Rgb, SegmentClass } from '../ensemble/ensemble-manifest.js';

/** How mask colours map to classes: class i has colour classes[i].color; `ignore` marks unlabelled pixels. */
export interface LabelPalette {
  classes: SegmentClass[];
  ignore?: Rgb;
}

function parseColor(value: unknown): Rgb | undefined {
  if (typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value)) {
    return [0, 2, 4].map((i) => parseInt(value.slice(1 + i, 3 + i), 16)) as Rgb;
  }
  if (Array.isArray(value) && value.length === 3 && value.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) return value as Rgb;
  return undefined;
}

/**
 * Parses a palette: `{"classes": [{"name": "trees", "color": "#00ff00"}, ...], "ignore": [255, 255, 255]}` (colours
 * as "#rrggbb" or [r, g, b]); at least two classes, distinct colours.
 */
export function parseLabelPalette(raw: unknown, where = 'palette'): LabelPalette {
  const fail = (problem: string): never => {
    throw new DiffusekitError('INVALID_ARGUMENT', `${where}: ${problem}. Expected {"classes": [{"name": "...", "color": "#rrggbb" or [r, g, b]}, ...], "ignore"?: colour}`);
  };
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { classes?: unknown }).classes)) fail('no "classes" array');
  const entries = (raw as { classes: unknown[]; ignore?: unknown }).classes;
  if (entries.length < 2 || entries.length > 255) fail(`${entries.length} classes; between 2 and 255 are supported`);
  const classes = entries.map((entry, i): SegmentClass => {
    const e = entry as { name?: unknown; color?: unknown };
    const color = parseColor(e.color);
    if (typeof e.name !== 'string' || e.name === '' || !color) fail(`class ${i} needs a name and a colour`);
    return { name: e.name as string, color: color! };
  });
  const seen = new Set(classes.map((c) => c.color.join(',')));
  if (seen.size !== classes.length) fail('two classes share a colour');
  const ignoreRaw = (raw as { ignore?: unknown }).ignore;
  const ignore = ignoreRaw === undefined ? undefined : parseColor(ignoreRaw);
  if (ignoreRaw !== undefined && !ignore) fail('"ignore" is not a colour');
  if (ignore && seen.has(ignore.join(','))) fail('the ignore colour is also a class colour');
  return ignore ? { classes, ignore } : { classes };
}

export async function readLabelPalette(file: string): Promise<LabelPalette> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DiffusekitError('FILE_NOT_FOUND', `Cannot read the palette file ${file}`, { cause: error, details: { path: file } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DiffusekitError('INVALID_ARGUMENT', `The palette file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseLabelPalette(raw, file);
}

/** Distinct, readable colours for classes that come without a palette (class-index masks). */
export function defaultClasses(count: number): SegmentClass[] {
  const base: Rgb[] = [[0, 0, 0], [0, 170, 0], [220, 40, 40], [40, 90, 230], [240, 200, 0], [160, 60, 200], [0, 190, 190], [255, 130, 0]];
  return Array.from({ length: count }, (_, i) => ({
    name: `class ${i}`,
    color: base[i] ?? ([(i * 73) % 256, (i * 151) % 256, (i * 199) % 256] as Rgb),
  }));
}
