import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '@diffusekit/core';
import { paletteInpaintTask } from './inpaint-task.js';
import { paletteJpegTask } from './jpeg-task.js';

export const PALETTE_MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

export const palettePlugin: Plugin = {
  name: '@diffusekit/palette',
  version: '0.1.0',
  core: '^0.1.0',
  tasks: [paletteJpegTask, paletteInpaintTask],
  modelFolders: [PALETTE_MODELS_DIR],
};
