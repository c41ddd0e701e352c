import type { Plugin } from '@diffusekit/core';

/** The task plugins that ship with diffusekit. */
export function plugins(): Plugin[] {
  return [];
}
