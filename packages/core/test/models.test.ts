import { cp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelCatalog, createEngine, makeSchedule, parseManifest, schedulerForModel, verifyModelFiles } from '@diffusekit/core';
import { TEST_MODELS, copyTestModels, rejection, thrown } from './helpers.js';

const tinyManifest = async (): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(path.join(TEST_MODELS, 'tiny-ddpm', 'model.json'), 'utf8')) as Record<string, unknown>;

describe('model manifests', () => {
  it('accepts the committed tiny model manifest', async () => {
    const manifest = parseManifest(await tinyManifest(), 'tiny');
    expect(manifest.id).toBe('tiny-ddpm');
    expect(manifest.diffusion.noiseInput).toBe('timestep');
    expect(manifest.features?.outputs).toEqual(['dec1']);
  });

  it('names every bad field at once', async () => {
    const raw = await tinyManifest();
    raw.channels = 0;
    raw.range = [1, -1];
    (raw.diffusion as Record<string, unknown>).prediction = 'noise';
    (raw.files as Record<string, unknown>[])[0]!.path = '../../etc/passwd';
    const error = thrown(() => parseManifest(raw, 'bad.json'));
    expect(error.code).toBe('MANIFEST_INVALID');
    const fields = (error.details as { problems: { field: string }[] }).problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['channels', 'range', 'diffusion.prediction', 'files[0].path']));
    expect(error.message).toContain('diffusion.prediction: expected one of eps, x0, v');
  });

  it('rejects feature outputs that the io map does not list', async () => {
    const raw = await tinyManifest();
    raw.features = { outputs: ['dec9'], timesteps: [50] };
    expect(thrown(() => parseManifest(raw, 'x')).message).toContain('role "dec9" is not listed');
  });

  it('reads a tile context margin and refuses a negative one', async () => {
    const raw = await tinyManifest();
    raw.tile = { size: 64, multipleOf: 16, contextMargin: 26 };
    expect(parseManifest(raw, 'x').tile?.contextMargin).toBe(26);
    raw.tile = { size: 64, multipleOf: 16, contextMargin: -1 };
    expect(thrown(() => parseManifest(raw, 'x')).message).toContain('tile.contextMargin');
  });

  it('carries every schedule the samplers know: cosine with its offset and clip, and explicit betas', async () => {
    const raw = await tinyManifest();
    const diffusion = raw.diffusion as Record<string, unknown>;
    diffusion.schedule = { kind: 'cosine', trainSteps: 200, offset: 0.02, maxBeta: 0.5 };
    let scheduler = schedulerForModel(parseManifest(raw, 'x'), { steps: 10 });
    const cosine = makeSchedule({ kind: 'cosine', trainSteps: 200, offset: 0.02, maxBeta: 0.5 });
    expect(scheduler.alphaBar(199)).toBe(cosine.alphaBar[199]);
    expect(scheduler.alphaBar(199)).not.toBe(makeSchedule({ kind: 'cosine', trainSteps: 200 }).alphaBar[199]);

    const betas = Array.from({ length: 50 }, (_, i) => 0.001 + 0.004 * i);
    diffusion.schedule = { kind: 'betas', betas };
    scheduler = schedulerForModel(parseManifest(raw, 'x'), { steps: 50 });
    expect(scheduler.timesteps).toHaveLength(50);
    expect(scheduler.alphaBar(49)).toBeCloseTo(betas.reduce((product, beta) => product * (1 - beta), 1), 12);
    expect(thrown(() => schedulerForModel(parseManifest(raw, 'x'), { steps: 51 })).code).toBe('INVALID_OPTION');
  });

  it('names the bad field of a schedule', async () => {
    const raw = await tinyManifest();
    const diffusion = raw.diffusion as Record<string, unknown>;
    const fieldOf = (schedule: unknown): string[] => {
      diffusion.schedule = schedule;
      return (thrown(() => parseManifest(raw, 'x')).details as { problems: { field: string }[] }).problems.map((p) => p.field);
    };
    expect(fieldOf({ kind: 'linear', betaStart: 0.02, betaEnd: 0.0001, trainSteps: 1000 })).toEqual(['diffusion.schedule.betaEnd']);
    expect(fieldOf({ kind: 'linear', betaEnd: 0.02, trainSteps: 1000 })).toEqual(['diffusion.schedule.betaStart']);
    expect(fieldOf({ kind: 'cosine', trainSteps: 100, offset: 2 })).toEqual(['diffusion.schedule.offset']);
    expect(fieldOf({ kind: 'betas', betas: [0.1, 1.5] })).toEqual(['diffusion.schedule.betas[1]']);
    expect(fieldOf({ kind: 'betas' })).toEqual(['diffusion.schedule.betas']);
    expect(fieldOf({ kind: 'sigmoid', trainSteps: 10 })).toEqual(['diffusion.schedule.kind']);
  });
});

describe('model catalog', () => {
  const catalog = new ModelCatalog({ folders: [TEST_MODELS] });

  it('finds a model by id and lists it', async () => {
    const model = await catalog.resolve('tiny-ddpm');
    expect(model.files.model).toBe(path.join(TEST_MODELS, 'tiny-ddpm', 'model.onnx'));
    expect((await catalog.list()).map((m) => m.manifest.id)).toContain('tiny-ddpm');
  });

  it('lists the known ids when an id is unknown', async () => {
    const error = await rejection(catalog.resolve('nope'));
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain('Should be one of: tiny-ddpm');
  });

  it('never turns an id into a path', async () => {
    for (const id of ['../tiny-ddpm', '/etc', 'tiny-ddpm/../tiny-ddpm', '..', '']) {
      expect((await rejection(catalog.resolve(id))).code).toBe('MODEL_NOT_FOUND');
    }
  });

  it('resolves a model published as an npm package', async () => {
    const dir = await copyTestModels();
    try {
      const pkg = path.join(dir, 'node_modules', '@acme', 'tiny-model');
      await cp(path.join(TEST_MODELS, 'tiny-ddpm'), pkg, { recursive: true });
      await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: '@acme/tiny-model', version: '1.0.0' }));
      const model = await new ModelCatalog({ packagesFrom: dir }).resolve({ package: '@acme/tiny-model' });
      expect([model.source, model.manifest.id]).toEqual(['package', 'tiny-ddpm']);
      await verifyModelFiles(model);
      expect((await rejection(new ModelCatalog({ packagesFrom: dir }).resolve({ package: '@acme/missing' }))).code).toBe('MODEL_NOT_FOUND');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resolves an explicit path (host code only)', async () => {
    const model = await catalog.resolve({ path: path.join(TEST_MODELS, 'tiny-ddpm') });
    expect(model.source).toBe('path');
  });
});

describe('checksums', () => {
  it('refuses a model whose file does not match its sha256, before any session exists', async () => {
    const dir = await copyTestModels();
    try {
      const file = path.join(dir, 'tiny-ddpm', 'model.onnx');
      const bytes = await readFile(file);
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
      await writeFile(file, bytes);
      const model = await new ModelCatalog({ folders: [dir] }).resolve('tiny-ddpm');
      const error = await rejection(verifyModelFiles(model));
      expect(error.code).toBe('MODEL_CHECKSUM_MISMATCH');
      const engine = createEngine({ provider: 'cpu' });
      expect((await rejection(engine.openSession(model))).code).toBe('MODEL_CHECKSUM_MISMATCH');
      await engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never loads a file swapped after it was verified, even with the same size and time stamp', async () => {
    const dir = await copyTestModels();
    try {
      const file = path.join(dir, 'tiny-ddpm', 'model.onnx');
      const model = await new ModelCatalog({ folders: [dir] }).resolve('tiny-ddpm');
      await verifyModelFiles(model); // remembered as verified by path, size and mtime
      const { mtime, atime } = await stat(file);
      const bytes = await readFile(file);
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
      await writeFile(file, bytes);
      await utimes(file, atime, mtime);
      const engine = createEngine({ provider: 'cpu' });
      expect((await rejection(engine.openSession(model))).code).toBe('MODEL_CHECKSUM_MISMATCH');
      await engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing model file', async () => {
    const dir = await copyTestModels();
    try {
      await rm(path.join(dir, 'tiny-ddpm', 'model.onnx'));
      const model = await new ModelCatalog({ folders: [dir] }).resolve('tiny-ddpm');
      expect((await rejection(verifyModelFiles(model))).code).toBe('MODEL_FILE_MISSING');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
