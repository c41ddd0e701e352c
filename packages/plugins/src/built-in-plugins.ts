import type { Plugin } from '@diffusekit/core';
import { palettePlugin } from '@diffusekit/palette';
import { segmentPlugin } from '@diffusekit/segment';
import { sr3Plugin } from '@diffusekit/sr3';

/** The task plugins that ship with diffusekit. */
export function plugins(): Plugin[] {
  return [sr3Plugin, palettePlugin, segmentPlugin];
}
