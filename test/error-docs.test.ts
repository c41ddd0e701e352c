import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@diffusekit/core';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'errors.md');

describe('docs/errors.md', () => {
  it('documents every error code, and only real ones', async () => {
    const text = await readFile(docs, 'utf8');
    const documented = [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
  });
});
