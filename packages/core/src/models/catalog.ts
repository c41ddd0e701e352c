import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DiffusekitError, isDiffusekitError } from '../errors.js';
import { MODEL_ID_PATTERN, parseManifest, type ModelManifest } from './manifest.js';

/** Where a model comes from. Remote callers may only ever pass an id (a string): paths and packages are for host code. */
export type ModelRef = string | { id: string } | { path: string } | { package: string };

export interface ResolvedModel {
  manifest: ModelManifest;
  /** Folder holding model.json. */
  dir: string;
  /** Absolute path of each file, by role. */
  files: Record<string, string>;
  source: 'bundled' | 'path' | 'package';
}

const MANIFEST_FILE = 'model.json';

export async function loadManifestFile(manifestPath: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new DiffusekitError('MODEL_NOT_FOUND', `No model manifest at ${manifestPath}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DiffusekitError('MANIFEST_INVALID', `Model manifest ${manifestPath} is not valid JSON: ${(error as Error).message}`, {
      details: { source: manifestPath, problems: [{ field: '', problem: 'not valid JSON' }] },
    });
  }
  return parseManifest(json, manifestPath);
}

function toResolved(manifest: ModelManifest, dir: string, source: ResolvedModel['source']): ResolvedModel {
  const files: Record<string, string> = {};
  for (const f of manifest.files) files[f.role] = path.join(dir, f.path);
  return { manifest, dir, files, source };
}

/**
 * Finds models by id in registered folders (each holding `<id>/model.json`), by an explicit path, or in an installed
 * npm package whose root holds model.json.
 */
export interface ModelCatalogOptions {
  folders?: readonly string[];
  /** Where `{ package }` references are resolved from, as if required by a file in this folder (default: cwd). */
  packagesFrom?: string;
}

export class ModelCatalog {
  readonly #folders: string[] = [];
  readonly #packagesFrom: string | undefined;

  constructor(options: ModelCatalogOptions = {}) {
    for (const f of options.folders ?? []) this.addFolder(f);
    this.#packagesFrom = options.packagesFrom;
  }

  addFolder(folder: string): void {
    const abs = path.resolve(folder);
    if (!this.#folders.includes(abs)) this.#folders.push(abs);
  }

  get folders(): readonly string[] {
    return this.#folders;
  }

  /** Every valid model in the registered folders; invalid manifests are skipped here and reported by `resolve`. */
  async list(): Promise<ResolvedModel[]> {
    const found: ResolvedModel[] = [];
    const seen = new Set<string>();
    for (const folder of this.#folders) {
      let entries: string[];
      try {
        entries = await readdir(folder);
      } catch {
        continue;
      }
      for (const entry of entries.sort()) {
        if (!MODEL_ID_PATTERN.test(entry) || seen.has(entry)) continue;
        const dir = path.join(folder, entry);
        try {
          const manifest = await loadManifestFile(path.join(dir, MANIFEST_FILE));
          if (manifest.id !== entry) continue;
          seen.add(entry);
          found.push(toResolved(manifest, dir, 'bundled'));
        } catch (error) {
          if (!isDiffusekitError(error)) throw error;
        }
      }
    }
    return found;
  }

  async resolve(ref: ModelRef): Promise<ResolvedModel> {
    if (typeof ref === 'string' || 'id' in ref) return this.#resolveId(typeof ref === 'string' ? ref : ref.id);
    if ('path' in ref) return this.#resolvePath(ref.path);
    return this.#resolvePackage(ref.package);
  }

  async #resolveId(id: string): Promise<ResolvedModel> {
    if (typeof id !== 'string' || !MODEL_ID_PATTERN.test(id)) {
      throw new DiffusekitError('MODEL_NOT_FOUND', `Expected a model id matching ${MODEL_ID_PATTERN} but received ${JSON.stringify(id)}`);
    }
    for (const folder of this.#folders) {
      const dir = path.join(folder, id);
      const manifestPath = path.join(dir, MANIFEST_FILE);
      if (!(await isFile(manifestPath))) continue;
      const manifest = await loadManifestFile(manifestPath);
      if (manifest.id !== id) {
        throw new DiffusekitError('MANIFEST_INVALID', `Model folder ${dir} holds a manifest for "${manifest.id}", not "${id}"`, {
          details: { source: manifestPath, problems: [{ field: 'id', problem: `expected "${id}"` }] },
        });
      }
      return toResolved(manifest, dir, 'bundled');
    }
    const known = (await this.list()).map((m) => m.manifest.id);
    throw new DiffusekitError('MODEL_NOT_FOUND', `Unknown model "${id}". Should be one of: ${known.join(', ') || '(none installed)'}`, {
      details: { id, known },
    });
  }

  async #resolvePath(target: string): Promise<ResolvedModel> {
    const abs = path.resolve(target);
    const manifestPath = abs.endsWith('.json') ? abs : path.join(abs, MANIFEST_FILE);
    const manifest = await loadManifestFile(manifestPath);
    return toResolved(manifest, path.dirname(manifestPath), 'path');
  }

  async #resolvePackage(name: string): Promise<ResolvedModel> {
    const require = createRequire(path.join(this.#packagesFrom ?? process.cwd(), 'noop.js'));
    let manifestPath: string;
    try {
      manifestPath = require.resolve(`${name}/${MANIFEST_FILE}`);
    } catch (error) {
      throw new DiffusekitError('MODEL_NOT_FOUND', `No installed package "${name}" with a ${MANIFEST_FILE} at its root`, { cause: error });
    }
    const manifest = await loadManifestFile(manifestPath);
    return toResolved(manifest, path.dirname(manifestPath), 'package');
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
