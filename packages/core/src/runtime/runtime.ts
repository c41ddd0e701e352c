import { createRequire } from 'node:module';
import { DiffusekitError, isDiffusekitError } from '../errors.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { ModelCatalog, type ModelRef, type ResolvedModel } from '../models/catalog.js';
import type { Plugin, TaskDefinition, TaskInstance } from './plugin.js';
import type { RunOptions } from './progress.js';
import { satisfiesRange } from './version.js';

export const CORE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export interface RuntimeOptions {
  engine?: Engine | EngineOptions;
  /** Extra folders holding `<id>/model.json`, searched before the plugins' bundled ones. */
  modelFolders?: readonly string[];
  plugins?: readonly Plugin[];
}

export interface LoadOptions {
  model?: ModelRef;
}

/** A task bound to a model, ready to run many inputs. */
export interface LoadedTask<Input = unknown, Opts = unknown, Out = unknown> {
  readonly task: TaskDefinition<Input, Opts, Out>;
  readonly model: ResolvedModel;
  /** Validates raw options (INVALID_OPTION on a bad field), then runs. */
  run(input: Input, options?: unknown, runOptions?: RunOptions): Promise<Out>;
  dispose(): Promise<void>;
}

const PLUGIN_NAME = /^[a-z0-9@][a-z0-9@/._-]*$/;

export class Runtime {
  readonly engine: Engine;
  readonly catalog: ModelCatalog;
  readonly #plugins = new Map<string, Plugin>();
  readonly #tasks = new Map<string, { task: TaskDefinition<any, any, any>; plugin: string }>();
  readonly #loaded = new Map<string, Promise<TaskInstance<any, any, any>>>();

  constructor(options: RuntimeOptions = {}) {
    this.engine = options.engine instanceof Engine ? options.engine : new Engine(options.engine ?? {});
    this.catalog = new ModelCatalog({ folders: options.modelFolders ?? [] });
    for (const plugin of options.plugins ?? []) this.use(plugin);
  }

  use(plugin: Plugin): this {
    validatePlugin(plugin);
    if (this.#plugins.has(plugin.name)) {
      throw new DiffusekitError('PLUGIN_NAME_CLASH', `A plugin named "${plugin.name}" is already registered`, { details: { plugin: plugin.name } });
    }
    if (!satisfiesRange(CORE_VERSION, plugin.core)) {
      throw new DiffusekitError(
        'PLUGIN_VERSION_INCOMPATIBLE',
        `Plugin "${plugin.name}" needs @diffusekit/core ${plugin.core} but this is ${CORE_VERSION}`,
        { details: { plugin: plugin.name, requires: plugin.core, core: CORE_VERSION } },
      );
    }
    for (const task of plugin.tasks) {
      const owner = this.#tasks.get(task.id);
      if (owner) {
        throw new DiffusekitError('PLUGIN_NAME_CLASH', `Plugin "${plugin.name}" defines task "${task.id}", already defined by "${owner.plugin}"`, {
          details: { plugin: plugin.name, task: task.id, owner: owner.plugin },
        });
      }
    }
    this.#plugins.set(plugin.name, plugin);
    for (const task of plugin.tasks) this.#tasks.set(task.id, { task, plugin: plugin.name });
    for (const folder of plugin.modelFolders ?? []) this.catalog.addFolder(folder);
    return this;
  }

  get plugins(): readonly Plugin[] {
    return [...this.#plugins.values()];
  }

  get tasks(): readonly TaskDefinition<any, any, any>[] {
    return [...this.#tasks.values()].map((t) => t.task);
  }

  task<Input = unknown, Opts = unknown, Out = unknown>(id: string): TaskDefinition<Input, Opts, Out> {
    const entry = this.#tasks.get(id);
    if (!entry) {
      const known = [...this.#tasks.keys()];
      throw new DiffusekitError('TASK_NOT_FOUND', `Unknown task "${id}". Should be one of: ${known.join(', ') || '(no plugins registered)'}`, {
        details: { task: id, known },
      });
    }
    return entry.task;
  }

  models(): Promise<ResolvedModel[]> {
    return this.catalog.list();
  }

  /** Resolves the model (the task's default if none is named), checks it fits the task, and loads it once. */
  async load<Input = unknown, Opts = unknown, Out = unknown>(taskId: string, options: LoadOptions = {}): Promise<LoadedTask<Input, Opts, Out>> {
    const task = this.task<Input, Opts, Out>(taskId);
    const model = await this.catalog.resolve(options.model ?? task.defaultModel);
    if (!task.accepts(model.manifest)) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${model.manifest.id}" (task ${model.manifest.task}) cannot be used by task "${task.id}"`, {
        details: { task: task.id, model: model.manifest.id },
      });
    }
    const key = `${task.id}\0${model.dir}`;
    let instance = this.#loaded.get(key) as Promise<TaskInstance<Input, Opts, Out>> | undefined;
    if (!instance) {
      instance = task.load({ engine: this.engine, catalog: this.catalog, model });
      this.#loaded.set(key, instance);
      instance.catch(() => this.#loaded.delete(key));
    }
    const ready = await instance;
    return {
      task,
      model,
      run: async (input, rawOptions, runOptions) => ready.run(input, task.parseOptions(rawOptions ?? {}), runOptions),
      dispose: async () => {
        this.#loaded.delete(key);
        await ready.dispose();
      },
    };
  }

  async close(): Promise<void> {
    const loaded = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(loaded.map(async (p) => (await p.catch(() => undefined))?.dispose()));
    await this.engine.close();
  }
}

function validatePlugin(plugin: Plugin): void {
  const problems: string[] = [];
  if (typeof plugin !== 'object' || plugin === null) problems.push('expected a plugin object');
  else {
    if (typeof plugin.name !== 'string' || !PLUGIN_NAME.test(plugin.name)) problems.push('name: expected a lowercase package-like name');
    if (typeof plugin.version !== 'string' || !/^\d+\.\d+\.\d+/.test(plugin.version)) problems.push('version: expected a semver version');
    if (typeof plugin.core !== 'string' || plugin.core.trim() === '')
      problems.push('core: expected the range of @diffusekit/core versions the plugin works with, e.g. "^0.1.0"');
    if (!Array.isArray(plugin.tasks)) problems.push('tasks: expected an array of task definitions');
    else
      plugin.tasks.forEach((t, i) => {
        if (typeof t?.id !== 'string' || t.id === '') problems.push(`tasks[${i}].id: expected a non-empty string`);
        for (const fn of ['accepts', 'parseOptions', 'load'] as const)
          if (typeof t?.[fn] !== 'function') problems.push(`tasks[${i}].${fn}: expected a function`);
      });
  }
  if (problems.length > 0) {
    throw new DiffusekitError('PLUGIN_INVALID', `Invalid plugin: ${problems.join('; ')}`, { details: { problems } });
  }
}

export function isAbortError(error: unknown): boolean {
  return isDiffusekitError(error) && error.code === 'ABORTED';
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}
