import { createRuntime, type Runtime, type RuntimeOptions } from '@diffusekit/core';
import { plugins as builtInPlugins } from './built-in-plugins.js';

/** A runtime with every task plugin that ships with diffusekit registered. */
export function createDefaultRuntime(options: Omit<RuntimeOptions, 'plugins'> = {}): Runtime {
  return createRuntime({ ...options, plugins: builtInPlugins() });
}
