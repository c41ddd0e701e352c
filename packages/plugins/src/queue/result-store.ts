import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError, writeFileAtomic } from '@diffusekit/core';

/**
 * Where queued jobs' large payloads live while they travel between machines: inputs that are too big for Redis, and
 * every result. Keys are relative, slash-separated names such as "results/<job id>.png". A folder shared by the
 * server and all workers (NFS, SMB, a Docker volume) is the default; an object store (S3 and the like) fits the same
 * four methods, because every write is of a whole object under a key the job owns.
 */
export interface ResultStore {
  /** Writes the whole object atomically: readers see the old one, the new one, or none, never a part. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** FILE_NOT_FOUND when there is no such object. */
  get(key: string): Promise<Uint8Array>;
  /** Removes the object; no error when it is already gone. */
  delete(key: string): Promise<void>;
  /** For messages: where the objects are (no secrets). */
  readonly location: string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY.test(key) || key.split('/').some((part) => part === '..')) {
    throw new DiffusekitError('INVALID_ARGUMENT', `Expected a store key of letters, digits, ".", "_", "-" and "/" but received ${JSON.stringify(key)}`);
  }
}

/** A ResultStore in a folder: writes go to a temporary file in the same folder, are flushed, then renamed. */
export class FolderResultStore implements ResultStore {
  readonly location: string;

  constructor(folder: string) {
    this.location = path.resolve(folder);
  }

  #path(key: string): string {
    checkKey(key);
    return path.join(this.location, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.#path(key);
    await mkdir(path.dirname(file), { recursive: true }).catch((error: unknown) => {
      throw new DiffusekitError('IO_FAILED', `Could not create the result store folder ${path.dirname(file)}: ${(error as Error).message}`, { cause: error });
    });
    await writeFileAtomic(file, bytes);
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.#path(key);
    try {
      return await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DiffusekitError('FILE_NOT_FOUND', `The result store ${this.location} has no "${key}"; do the server and the workers share this folder?`, {
          details: { key },
        });
      }
      throw new DiffusekitError('IO_FAILED', `Could not read "${key}" from the result store ${this.location}: ${(error as Error).message}`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }
}
