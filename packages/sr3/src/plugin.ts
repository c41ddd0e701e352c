import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '@diffusekit/core';
import { sr3Task, srdiffTask } from './sr3-task.js';

/** Bundled models live beside dist/, in the package's models/ folder. */
export const SR3_MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

export const sr3Plugin: Plugin = {
  name: '@diffusekit/sr3',
  version: '0.1.0',
  core: '^0.1.0',
  tasks: [sr3Task, srdiffTask],
  modelFolders: [SR3_MODELS_DIR],
};
