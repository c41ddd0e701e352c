import { ModelCatalog, createEngine, encoderResidualSampler, schedulerForModel, type ChwImage, type ModelSession } from '@diffusekit/core';
import { TEST_MODELS } from './helpers.js';

const catalog = new ModelCatalog({ folders: [TEST_MODELS] });
const engine = createEngine({ provider: 'cpu', threads: 1 });
afterAll(() => engine.close());

/** A smooth-plus-detail low-resolution image in [-1, 1] (not periodic, so every tile sees different content). */
function lowResolution(width: number, height: number): ChwImage {
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data[(c * height + y) * width + x] = Math.sin(0.37 * x + 0.11 * c) * Math.cos(0.23 * y * (1 + c / 5)) * 0.8;
  return { data, channels: 3, height, width };
}

/** The encoder session, counting the low-resolution pixels it is asked to encode. */
function counting(session: ModelSession): { session: ModelSession; pixels: () => number; calls: () => number } {
  let pixels = 0;
  let calls = 0;
  const wrapped: ModelSession = {
    ...session,
    run: async (inputs, outputNames) => {
      const lr = inputs.lr!;
      pixels += lr.dims[0]! * lr.dims[2]! * lr.dims[3]!;
      calls++;
      return session.run(inputs, outputNames);
    },
    release: () => session.release(),
  };
  return { session: wrapped, pixels: () => pixels, calls: () => calls };
}

async function sample(options: { blockSize?: number; margin?: number; steps: number; tile: number; cacheBytes?: number }) {
  const model = await catalog.resolve('tiny-srdiff-x2');
  const encoder = counting(await engine.openSession(model, 'encoder'));
  const denoiser = await engine.openSession(model, 'denoiser');
  const { blockSize, margin, cacheBytes } = options;
  const sampler = encoderResidualSampler(encoder.session, denoiser, model.manifest, 2, {
    ...(blockSize === undefined ? {} : { blockSize }),
    ...(margin === undefined ? {} : { margin }),
    ...(cacheBytes === undefined ? {} : { cacheBytes }),
  });
  const scheduler = schedulerForModel(model.manifest, { steps: options.steps });
  scheduler.setTimesteps(options.steps);
  const out = await sampler(lowResolution(72, 56), { scheduler, tiling: { tile: options.tile, overlap: 8, tilesPerCall: 3 }, seed: 3 });
  return { out, pixels: encoder.pixels(), calls: encoder.calls() };
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('encoder-residual sampling', () => {
  it('encodes blocks of tiles once and gives each tile the features it would get on its own', async () => {
    // 144x112 output in 32-px tiles: a 6x5 grid. Blocks of one tile are the per-tile encoding.
    for (const steps of [1, 3]) {
      const perTile = await sample({ blockSize: 32, steps, tile: 32 });
      const blocked = await sample({ blockSize: 96, steps, tile: 32 });
      expect(perTile.calls).toBeGreaterThan(blocked.calls);
      expect(blocked.pixels).toBeLessThan(0.6 * perTile.pixels);
      expect(maxDiff(perTile.out, blocked.out)).toBeLessThan(1e-4);
    }
  });

  it('matches the untiled result as far as the margin reaches, and not without one', async () => {
    const whole = await sample({ steps: 1, tile: 160 });
    const withMargin = await sample({ blockSize: 32, steps: 1, tile: 32 });
    const without = await sample({ blockSize: 32, margin: 0, steps: 1, tile: 32 });
    const meanDiff = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    expect(meanDiff(without.out, whole.out)).toBeGreaterThan(2 * meanDiff(withMargin.out, whole.out));
  });

  it('encodes tiles on their own once the budget is spent, with the same result', async () => {
    const roomy = await sample({ blockSize: 96, steps: 3, tile: 32 });
    const tight = await sample({ blockSize: 96, steps: 3, tile: 32, cacheBytes: 1 });
    expect(tight.calls).toBeGreaterThan(roomy.calls);
    expect(maxDiff(roomy.out, tight.out)).toBeLessThan(1e-4);
  });
});
