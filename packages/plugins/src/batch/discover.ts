import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError } from '@diffusekit/core';

/** Extensions picked up when a folder is given; files named explicitly are taken whatever their name. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.nii', '.nii.gz', '.hdr'] as const;

/** A folder holding files with this extension is one DICOM series: one input, read as one volume. */
export const DICOM_EXTENSION = '.dcm';

function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export interface BatchItem {
  input: string;
  /** Path relative to the folder it was found in (the file name for explicit files), reused for the output. */
  relative: string;
}

/**
 * Expands files and folders (recursively, hidden entries skipped) into a sorted, de-duplicated list of inputs. A
 * folder that directly holds .dcm files is one input (a DICOM series, read as one volume).
 */
export async function discoverInputs(paths: readonly string[]): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  const seen = new Set<string>();
  const add = (input: string, relative: string): void => {
    const abs = path.resolve(input);
    if (seen.has(abs)) return;
    seen.add(abs);
    items.push({ input: abs, relative });
  };
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch {
      throw new DiffusekitError('FILE_NOT_FOUND', `Input ${p} does not exist`, { details: { path: p } });
    }
    if (info.isDirectory()) {
      if (await isDicomSeriesFolder(p)) add(p, path.basename(path.resolve(p)));
      else for (const file of await walk(p)) add(path.join(p, file), file);
    } else {
      add(p, path.basename(p));
    }
  }
  return items;
}

async function isDicomSeriesFolder(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.some((e) => e.isFile() && !e.name.startsWith('.') && e.name.toLowerCase().endsWith(DICOM_EXTENSION));
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) {
      if (await isDicomSeriesFolder(path.join(dir, rel))) found.push(rel);
      else found.push(...(await walk(dir, rel)));
    } else if (entry.isFile() && hasImageExtension(entry.name)) found.push(rel);
  }
  return found;
}

/**
 * Output path for each item: with one explicit input and an output that is not an existing folder and has an
 * extension, the output is that file; otherwise the output is a folder mirroring the inputs' relative paths.
 */
export async function planOutputs(items: readonly BatchItem[], output: string, inputsAreOneFile: boolean): Promise<Map<string, string>> {
  const outputIsDir = await stat(output).then((s) => s.isDirectory(), () => false);
  const asFile = inputsAreOneFile && items.length === 1 && !outputIsDir && path.extname(output) !== '';
  const plan = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const item of items) {
    const target = asFile ? path.resolve(output) : path.resolve(output, item.relative);
    const other = owners.get(target);
    if (other) {
      throw new DiffusekitError('INVALID_ARGUMENT', `Inputs ${other} and ${item.input} would both be written to ${target}; give them different names or separate runs`);
    }
    if (target === item.input) {
      throw new DiffusekitError('INVALID_ARGUMENT', `Output ${target} would overwrite its own input; choose another output folder`);
    }
    owners.set(target, item.input);
    plan.set(item.input, target);
  }
  return plan;
}
