import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelCatalog, PROVIDERS, availableProviders, createEngine, type ModelSession } from '@diffusekit/core';
import { TEST_MODELS, rejection, thrown } from './helpers.js';

const catalog = new ModelCatalog({ folders: [TEST_MODELS] });

function probeInput(): { x: { data: Float32Array; dims: number[] }; noise_level: { data: Float32Array; dims: number[] } } {
  const x = new Float32Array(3 * 8 * 8);
  for (let i = 0; i < x.length; i++) x[i] = -1 + (2 * i) / (x.length - 1);
  return { x: { data: x, dims: [1, 3, 8, 8] }, noise_level: { data: new Float32Array([100]), dims: [1] } };
}

async function expectReferenceOutput(session: ModelSession): Promise<void> {
  const reference = JSON.parse(await readFile(path.join(TEST_MODELS, 'tiny-ddpm', 'reference.json'), 'utf8')) as { out: number[] };
  const out = await session.run(probeInput());
  expect(out.out!.dims).toEqual([1, 3, 8, 8]);
  expect(out.dec1!.dims).toEqual([1, 8, 8, 8]);
  let maxDiff = 0;
  out.out!.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - reference.out[i]!))));
  expect(maxDiff).toBeLessThan(1e-4);
}

describe('engine', () => {
  it('runs the tiny model on the CPU and matches PyTorch', async () => {
    const engine = createEngine({ provider: 'cpu', threads: 1 });
    const model = await catalog.resolve('tiny-ddpm');
    const session = await engine.openSession(model);
    expect(session.inputNames).toEqual(['x', 'noise_level']);
    await expectReferenceOutput(session);
    expect(await engine.openSession(model)).toBe(session);
    await engine.close();
  });

  it('runs the same model in a worker thread with the same result', async () => {
    const engine = createEngine({ provider: 'cpu', workers: 1 });
    const session = await engine.openSession(await catalog.resolve('tiny-ddpm'));
    await expectReferenceOutput(session);
    const error = await rejection(session.run({ nope: { data: new Float32Array(1), dims: [1] } }));
    expect(error.code).toBe('ENGINE_FAILED');
    await expectReferenceOutput(session); // the worker survived the bad request
    await engine.close();
  });

  it('runs a model exported with a fixed batch axis at any batch size, in the calling thread and in a worker', async () => {
    const lrInput = (n: number) => {
      const x = new Float32Array(n * 3 * 8 * 8).map((_, i) => Math.sin(i * 0.37));
      const lr = new Float32Array(n * 3 * 4 * 4).map((_, i) => Math.cos(i * 0.11));
      const level = new Float32Array(n).map((_, i) => 0.2 + 0.1 * i);
      return { x: { data: x, dims: [n, 3, 8, 8] }, lr: { data: lr, dims: [n, 3, 4, 4] }, noise_level: { data: level, dims: [n] } };
    };
    const dynamicEngine = createEngine({ provider: 'cpu', threads: 1 });
    const dynamic = await dynamicEngine.openSession(await catalog.resolve('tiny-sr3-x2'));
    for (const workers of [0, 1]) {
      const engine = createEngine({ provider: 'cpu', threads: 1, workers });
      for (const id of ['tiny-sr3-x2-batch1', 'tiny-sr3-x2-batch3']) {
        const fixed = await engine.openSession(await catalog.resolve(id));
        for (const n of [1, 2, 3, 4, 7]) {
          const expected = (await dynamic.run(lrInput(n), ['out'])).out!;
          const got = (await fixed.run(lrInput(n), ['out'])).out!;
          expect(got.dims).toEqual(expected.dims);
          let maxDiff = 0;
          got.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - expected.data[i]!))));
          expect(maxDiff).toBeLessThan(1e-5);
        }
      }
      await engine.close();
    }
    await dynamicEngine.close();
  });

  it('auto resolves to an available provider', async () => {
    const available = await availableProviders();
    expect(available).toContain('cpu');
    expect(available).toContain(await createEngine().provider());
  });

  it('refuses an explicit provider that is missing, listing the available ones', async () => {
    const available = await availableProviders();
    const missing = PROVIDERS.find((p) => !available.includes(p));
    if (!missing) return; // every provider works on this machine: nothing to refuse
    const engine = createEngine({ provider: missing });
    const error = await rejection(engine.openSession(await catalog.resolve('tiny-ddpm')));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toContain(`Available: ${available.join(', ')}`);
    await engine.close();
  });

  it('validates its options', () => {
    expect(thrown(() => createEngine({ provider: 'tpu' as never })).code).toBe('INVALID_OPTION');
    expect(thrown(() => createEngine({ threads: 0 })).message).toBe('Expected a positive integer for threads but received number 0');
  });
});
