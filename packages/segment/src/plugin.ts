import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '@diffusekit/core';
import { createSegmentTask } from './segment-task.js';

/** Bundled backbones live beside dist/, in the package's models/ folder. */
export const SEGMENT_MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

export interface SegmentPluginOptions {
  /**
   * Folders holding trained ensembles as `<id>/ensemble.json` (what `diffusekit segment train -o` writes). With any,
   * the plugin registers the `segment` image task, which hosts such as the HTTP service can serve.
   */
  ensembleFolders?: readonly string[];
}

/** The segmentation backbones, and with ensemble folders the `segment` task; training runs through the Segmenter API. */
export function createSegmentPlugin(options: SegmentPluginOptions = {}): Plugin {
  const folders = options.ensembleFolders ?? [];
  return {
    name: '@diffusekit/segment',
    version: '0.1.0',
    core: '^0.1.0',
    tasks: folders.length > 0 ? [createSegmentTask(folders)] : [],
    modelFolders: [SEGMENT_MODELS_DIR],
  };
}

/** The backbones only (no ensembles configured, so no task): for training and the Segmenter API. */
export const segmentPlugin: Plugin = createSegmentPlugin();
