import { createRuntime, type Runtime, type RuntimeOptions } from '@diffusekit/core';
import { plugins as builtInPlugins, type BuiltInPluginOptions } from './built-in-plugins.js';

/** A runtime with every task plugin that ships with diffusekit registered. */
export function createDefaultRuntime(options: Omit<RuntimeOptions, 'plugins'> & BuiltInPluginOptions = {}): Runtime {
  const { ensembleFolders, ...runtimeOptions } = options;
  return createRuntime({ ...runtimeOptions, plugins: builtInPlugins(ensembleFolders ? { ensembleFolders } : {}) });
}
