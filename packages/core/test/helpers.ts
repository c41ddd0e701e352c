import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TEST_MODELS = path.join(REPO_ROOT, 'test', 'models');

/** Copies the committed test models into a fresh temporary folder that a test may modify. */
export async function copyTestModels(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-models-'));
  await cp(TEST_MODELS, dir, { recursive: true });
  return dir;
}

/** Awaits a promise expected to reject and returns the error, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string; details?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the promise to reject');
}

export function thrown(fn: () => unknown): { code?: string; message: string; details?: unknown } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the call to throw');
}
