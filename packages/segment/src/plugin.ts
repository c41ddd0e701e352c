import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '@diffusekit/core';

/** Bundled backbones live beside dist/, in the package's models/ folder. */
export const SEGMENT_MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

/** Registers the segmentation backbones with a runtime; training and prediction run through the Segmenter API. */
export const segmentPlugin: Plugin = {
  name: '@diffusekit/segment',
  version: '0.1.0',
  core: '^0.1.0',
  tasks: [],
  modelFolders: [SEGMENT_MODELS_DIR],
};
