import type { Engine } from '../engine/engine.js';
import type { ModelCatalog, ResolvedModel } from '../models/catalog.js';
import type { ModelManifest } from '../models/manifest.js';
import type { RunOptions } from './progress.js';
import type { Raster } from '../raster/index.js';

/** One option a task accepts, described as data so CLIs, HTTP adapters and docs can list it. */
export interface TaskOptionSpec {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'enum' | 'integer-list';
  description: string;
  default?: unknown;
  values?: readonly string[];
  min?: number;
  max?: number;
}

export interface LoadContext {
  engine: Engine;
  catalog: ModelCatalog;
  model: ResolvedModel;
}

export interface TaskInstance<Input, Opts, Out> {
  readonly model: ModelManifest;
  run(input: Input, options: Opts, runOptions?: RunOptions): Promise<Out>;
  dispose(): Promise<void>;
}

/** What an image-to-image task returns: the output raster and facts about the run (seed, steps, timings). */
export interface ImageTaskResult {
  raster: Raster;
  info?: Record<string, unknown>;
}

export interface TaskDefinition<Input = unknown, Opts = unknown, Out = unknown> {
  id: string;
  /**
   * 'image-to-image': input is a Raster and the result an ImageTaskResult, so hosts (CLI, HTTP) can serve it
   * generically. 'custom': hosts need task-specific code.
   */
  kind: 'image-to-image' | 'custom';
  description: string;
  /** Model id used when the caller names none. */
  defaultModel: string;
  accepts(manifest: ModelManifest): boolean;
  options: readonly TaskOptionSpec[];
  /** Throws INVALID_OPTION naming the bad field and what is accepted. */
  parseOptions(raw: unknown): Opts;
  load(context: LoadContext): Promise<TaskInstance<Input, Opts, Out>>;
}

export interface Plugin {
  name: string;
  version: string;
  /** Range of @diffusekit/core versions this plugin works with, e.g. "^0.1.0"; checked on registration. */
  core: string;
  tasks: readonly TaskDefinition<any, any, any>[];
  /** Folders holding bundled models as `<id>/model.json`. */
  modelFolders?: readonly string[];
}
