import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DiffusekitError } from '@diffusekit/core';
import { TENSOR_NAMES, tensorShapes, type EnsembleWeights, type TensorName } from '../mlp/ensemble-weights.js';
import { ENSEMBLE_FILE, WEIGHTS_FILE, parseEnsembleManifest, type EnsembleManifest } from './ensemble-manifest.js';

export interface SavedEnsemble {
  manifest: EnsembleManifest;
  weights: EnsembleWeights;
}

function weightsBytes(weights: EnsembleWeights): Uint8Array {
  const total = TENSOR_NAMES.reduce((sum, name) => sum + weights.tensors[name].length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const name of TENSOR_NAMES) {
    all.set(weights.tensors[name], offset);
    offset += weights.tensors[name].length;
  }
  // Little-endian on every platform Node supports; the byte order is part of the file format.
  return new Uint8Array(all.buffer);
}

/**
 * Writes an ensemble folder (ensemble.json + weights.bin, float32 little-endian in a fixed tensor order) through a
 * temporary folder and a rename, so a crash never leaves a half-written ensemble where a good one is expected.
 */
export async function saveEnsemble(folder: string, manifest: Omit<EnsembleManifest, 'weights'>, weights: EnsembleWeights): Promise<EnsembleManifest> {
  const bytes = weightsBytes(weights);
  const full: EnsembleManifest = {
    ...manifest,
    weights: { file: WEIGHTS_FILE, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength },
  };
  const target = path.resolve(folder);
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(path.join(staging, WEIGHTS_FILE), bytes);
    await writeFile(path.join(staging, ENSEMBLE_FILE), `${JSON.stringify(full, null, 2)}\n`);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new DiffusekitError('IO_FAILED', `Could not write the ensemble to ${target}: ${(error as Error).message}`, { cause: error });
  }
  return full;
}

export async function loadEnsemble(folder: string): Promise<SavedEnsemble> {
  const manifestPath = path.join(folder, ENSEMBLE_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `No ${ENSEMBLE_FILE} in ${folder}: is it an ensemble folder written by "diffusekit segment train"?`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `${manifestPath} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const manifest = parseEnsembleManifest(raw, manifestPath);
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(folder, manifest.weights.file));
  } catch (error) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `The weights file ${manifest.weights.file} is missing from ${folder}`, { cause: error });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== manifest.weights.sha256) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `${manifest.weights.file} in ${folder} does not match the sha256 in ${ENSEMBLE_FILE}`, {
      details: { expected: manifest.weights.sha256, actual: sha256 },
    });
  }
  const shell: Omit<EnsembleWeights, 'tensors'> = {
    members: manifest.members,
    dim: manifest.backbone.dim,
    hidden: manifest.hidden,
    classes: manifest.classes.length,
  };
  const shapes = tensorShapes({ ...shell, tensors: {} as EnsembleWeights['tensors'] });
  const expected = TENSOR_NAMES.reduce((sum, name) => sum + shapes[name].reduce((a, b) => a * b, 1), 0) * 4;
  if (bytes.byteLength !== expected) {
    throw new DiffusekitError('ENSEMBLE_INVALID', `${manifest.weights.file} holds ${bytes.byteLength} bytes; the manifest's sizes need ${expected}`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const tensors = {} as Record<TensorName, Float32Array>;
  let offset = 0;
  for (const name of TENSOR_NAMES) {
    const size = shapes[name].reduce((a, b) => a * b, 1);
    tensors[name] = all.subarray(offset, offset + size);
    offset += size;
  }
  return { manifest, weights: { ...shell, tensors } };
}
