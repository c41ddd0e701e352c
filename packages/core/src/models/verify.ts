import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { DiffusekitError } from '../errors.js';
import type { ResolvedModel } from './catalog.js';

/** Files already verified in this process, keyed by path + size + mtime, so a server does not rehash per request. */
const verified = new Map<string, string>();

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

type FileEntry = ResolvedModel['manifest']['files'][number];

function fileMissing(model: ResolvedModel, entry: FileEntry, file: string, error: unknown): DiffusekitError {
  return new DiffusekitError('MODEL_FILE_MISSING', `Model "${model.manifest.id}" lists ${entry.path} (${entry.role}) but ${file} cannot be read`, {
    cause: error,
    details: { model: model.manifest.id, file },
  });
}

function checkSha256(model: ResolvedModel, entry: FileEntry, file: string, actual: string): void {
  if (actual === entry.sha256) return;
  throw new DiffusekitError(
    'MODEL_CHECKSUM_MISMATCH',
    `Model file ${file} does not match its manifest: expected sha256 ${entry.sha256} but found ${actual}. The file is corrupt or was replaced; reinstall the model`,
    { details: { model: model.manifest.id, file, expected: entry.sha256, actual } },
  );
}

/** Checks presence, size and sha256 of every file of a model; throws before anything is loaded. */
export async function verifyModelFiles(model: ResolvedModel): Promise<void> {
  for (const entry of model.manifest.files) {
    const file = model.files[entry.role]!;
    let info;
    try {
      info = await stat(file);
    } catch (error) {
      throw fileMissing(model, entry, file, error);
    }
    const key = `${file}\0${info.size}\0${info.mtimeMs}`;
    if (verified.get(key) === entry.sha256) continue;
    checkSha256(model, entry, file, info.size === entry.bytes ? await sha256File(file) : `(size ${info.size}, expected ${entry.bytes})`);
    verified.set(key, entry.sha256);
  }
}

/**
 * The bytes of one model file, checked against its manifest entry after they were read: a session built from them
 * runs exactly what was verified, even if the file is replaced between the check and the load.
 */
export async function readVerifiedModelFile(model: ResolvedModel, role: string): Promise<Uint8Array> {
  const entry = model.manifest.files.find((f) => f.role === role)!;
  const file = model.files[role]!;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw fileMissing(model, entry, file, error);
  }
  checkSha256(model, entry, file, createHash('sha256').update(bytes).digest('hex'));
  return bytes;
}
