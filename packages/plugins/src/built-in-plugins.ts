import type { Plugin } from '@diffusekit/core';
import { palettePlugin } from '@diffusekit/palette';
import { createSegmentPlugin } from '@diffusekit/segment';
import { sr3Plugin } from '@diffusekit/sr3';

export interface BuiltInPluginOptions {
  /** Folders of trained segmentation ensembles (`<id>/ensemble.json`); with any, the `segment` task is served. */
  ensembleFolders?: readonly string[];
}

/** The task plugins that ship with diffusekit. */
export function plugins(options: BuiltInPluginOptions = {}): Plugin[] {
  return [sr3Plugin, palettePlugin, createSegmentPlugin(options)];
}
