import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDiffusekitError } from '@diffusekit/core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TEST_MODELS = path.join(REPO_ROOT, 'test', 'models');

/** Copies the committed test models into a fresh temporary folder that a test may modify. */
export async function copyTestModels(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-models-'));
  await cp(TEST_MODELS, dir, { recursive: true });
  return dir;
}

export interface CaughtError {
  code: string;
  message: string;
  details?: unknown;
  cause?: unknown;
}

/** Awaits a promise expected to reject with a DiffusekitError and returns it, failing the test otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<CaughtError> {
  try {
    await promise;
  } catch (error) {
    expect(isDiffusekitError(error)).toBe(true);
    return error as CaughtError;
  }
  throw new Error('expected the promise to reject');
}

/** Calls `fn`, expecting it to throw a DiffusekitError, and returns the error. */
export function thrown(fn: () => unknown): CaughtError {
  try {
    fn();
  } catch (error) {
    expect(isDiffusekitError(error)).toBe(true);
    return error as CaughtError;
  }
  throw new Error('expected the call to throw');
}
