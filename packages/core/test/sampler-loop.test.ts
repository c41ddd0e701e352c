import { createRng, createScheduler, fillNoiseField, runSampler } from '@diffusekit/core';
import type { ModelBatch, RunSamplerOptions, SamplerModel, SamplerProgress, SamplerStats, Scheduler } from '@diffusekit/core';
import { rejection } from './helpers.js';

const { abs, max, sqrt } = Math;
const SCHEDULE = { kind: 'cosine', trainSteps: 1000 } as const;

function scheduler(sampler: 'ddpm' | 'ddim' | 'dpmpp-2m', steps: number, prediction: 'eps' | 'x0' | 'v' = 'eps'): Scheduler {
  const s = createScheduler({ sampler, prediction, schedule: SCHEDULE });
  s.setTimesteps(steps);
  return s;
}

/**
 * A pixelwise model: the optimal eps for x0 ~ N(mu_c, 0.5^2), with a per-channel mean so channels are told apart.
 * Its output at a pixel depends only on that pixel, so a tiled run must reproduce the untiled one exactly.
 */
function pixelwiseOracle(calls: ModelBatch[] = []): SamplerModel {
  return async (batch) => {
    calls.push({ ...batch, x: Float32Array.from(batch.x) });
    const ab = batch.noiseLevel;
    const plane = batch.height * batch.width;
    const out = new Float32Array(batch.x.length);
    for (let n = 0; n < batch.n; n++) {
      for (let c = 0; c < batch.channels; c++) {
        const mu = 0.2 * c - 0.1;
        const base = (n * batch.channels + c) * plane;
        for (let i = base; i < base + plane; i++) out[i] = (sqrt(1 - ab) * (batch.x[i]! - sqrt(ab) * mu)) / (ab * 0.25 + 1 - ab);
      }
    }
    return out;
  };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = max(worst, abs(a[i]! - b[i]!));
  return worst;
}


const SHAPE = { channels: 3, height: 70, width: 93 };

describe('runSampler', () => {
  test('tiled runs equal the untiled run for a pixelwise model: no seams, whatever the tile size', async () => {
    for (const sampler of ['ddim', 'ddpm', 'dpmpp-2m'] as const) {
      const base: RunSamplerOptions = { scheduler: scheduler(sampler, 12), model: pixelwiseOracle(), shape: SHAPE, seed: 42, noiseInput: 'alpha-bar' };
      const untiled = await runSampler(base);
      for (const tiling of [
        { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 3 },
        { tile: 48, overlap: 16, multipleOf: 16, tilesPerCall: 1 },
        { tile: 128, overlap: 0, multipleOf: 8, tilesPerCall: 2 },
      ]) {
        const tiled = await runSampler({ ...base, tiling });
        expect(tiled).toHaveLength(SHAPE.channels * SHAPE.height * SHAPE.width);
        // Fusion sums w * p in float64 and scales by 1 / sum(w): where the tiles agree this returns p to within
        // 2^-53 relative, which rounds back to the same float32. So the runs agree to the last bit.
        expect(maxDifference(tiled, untiled)).toBe(0);
      }
    }
  });

  test('a window sampled with its noise origin reproduces those pixels of the whole run, bit for bit', async () => {
    const window = { x: 21, y: 13, width: 40, height: 30 };
    for (const sampler of ['ddim', 'ddpm', 'dpmpp-2m'] as const) {
      const base: RunSamplerOptions = { scheduler: scheduler(sampler, 8), model: pixelwiseOracle(), shape: SHAPE, seed: 5, noiseInput: 'alpha-bar' };
      const whole = await runSampler(base);
      const expected = new Float32Array(SHAPE.channels * window.height * window.width);
      for (let c = 0; c < SHAPE.channels; c++)
        for (let y = 0; y < window.height; y++)
          for (let x = 0; x < window.width; x++)
            expected[(c * window.height + y) * window.width + x] = whole[(c * SHAPE.height + y + window.y) * SHAPE.width + x + window.x]!;
      const shape = { channels: SHAPE.channels, height: window.height, width: window.width };
      for (const tiling of [undefined, { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 2 }]) {
        const part = await runSampler({ ...base, shape, noiseOrigin: { x: window.x, y: window.y }, ...(tiling ? { tiling } : {}) });
        expect(maxDifference(part, expected)).toBe(0);
      }
      // Without its origin the window draws other noise.
      expect(maxDifference(await runSampler({ ...base, shape }), expected)).toBeGreaterThan(0.01);
    }
  });

  test('the noise of a window is the whole field at its pixels, across runs of the generator and at negative positions', () => {
    const rng = createRng(3);
    const full = { channels: 2, height: 9, width: 700 };
    const field = fillNoiseField(rng, full, full.height, full.width, new Float32Array(2 * 9 * 700), { x: -40, y: -2 });
    const part = fillNoiseField(rng, { channels: 2, height: 4, width: 300 }, 4, 300, new Float32Array(2 * 4 * 300), { x: 200, y: 1 });
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 300; x++) expect(part[(c * 4 + y) * 300 + x]).toBe(field[(c * 9 + y + 3) * 700 + x + 240]);
  });

  test('the same seed gives bit-identical samples; a different seed does not; an rng stands in for a seed', async () => {
    const options: RunSamplerOptions = { scheduler: scheduler('ddpm', 8), model: pixelwiseOracle(), shape: SHAPE, seed: 7, noiseInput: 'alpha-bar' };
    const a = await runSampler(options);
    const b = await runSampler(options);
    const c = await runSampler({ ...options, seed: undefined, rng: createRng(7) });
    const d = await runSampler({ ...options, seed: 8 });
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(true);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(maxDifference(a, d)).toBeGreaterThan(0.1);
  });

  test('batches hold tilesPerCall tiles of the padded image and the noise level of the step', async () => {
    const calls: ModelBatch[] = [];
    const events: SamplerProgress[] = [];
    let stats: SamplerStats | undefined;
    const s = scheduler('ddim', 3);
    await runSampler({
      scheduler: s, model: pixelwiseOracle(calls), shape: SHAPE, seed: 1, noiseInput: 'sqrt-alpha-bar',
      tiling: { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 4 }, onProgress: (e) => events.push(e), onStats: (st) => (stats = st),
    });
    const plan = calls[0]!.plan;
    expect([plan.paddedWidth, plan.paddedHeight]).toEqual([96, 72]);
    const tiles = plan.tiles.length;
    const callsPerStep = Math.ceil(tiles / 4);
    expect(calls).toHaveLength(3 * callsPerStep);
    calls.forEach((call, i) => {
      const step = Math.floor(i / callsPerStep);
      expect(call.noiseLevel).toBeCloseTo(sqrt(s.alphaBar(s.timesteps[step]!)), 12);
      expect(call.timestep).toBe(s.timesteps[step]);
      expect(call.n).toBe(call.tiles.length);
      expect(call.x).toHaveLength(call.n * 3 * 32 * 32);
      expect([call.height, call.width, call.channels]).toEqual([32, 32, 3]);
    });
    expect(calls.slice(0, callsPerStep).flatMap((c) => c.tiles.map((t) => t.index))).toEqual(plan.tiles.map((t) => t.index));
    const perStep: SamplerProgress[] = [];
    for (let first = 0; first < tiles; first += 4) perStep.push({ kind: 'tile', tile: Math.min(first + 4, tiles), of: tiles });
    expect(events).toEqual([1, 2, 3].flatMap((step) => [...perStep, { kind: 'step', step, of: 3 }]));
    expect(stats?.modelCalls).toBe(3 * callsPerStep);
    expect(stats?.steps).toBe(3);
    expect(stats!.modelMs).toBeGreaterThanOrEqual(0);
    expect(stats!.modelMs).toBeLessThanOrEqual(stats!.totalMs);
  });

  test('resuming from a recorded x_t at startStep reproduces the rest of the run', async () => {
    for (const sampler of ['ddpm', 'ddim'] as const) {
      const calls: ModelBatch[] = [];
      const s = scheduler(sampler, 10);
      const full = await runSampler({ scheduler: s, model: pixelwiseOracle(calls), shape: SHAPE, seed: 3, noiseInput: 'alpha-bar' });
      const resumedCalls: ModelBatch[] = [];
      const events: SamplerProgress[] = [];
      const resumed = await runSampler({
        scheduler: s, model: pixelwiseOracle(resumedCalls), shape: SHAPE, seed: 3, noiseInput: 'alpha-bar',
        init: { x: calls[6]!.x, startStep: 6 }, onProgress: (e) => events.push(e),
      });
      expect(resumedCalls).toHaveLength(4);
      expect(events.at(-1)).toEqual({ kind: 'step', step: 4, of: 4 });
      expect(Buffer.from(resumed.buffer).equals(Buffer.from(full.buffer))).toBe(true);
    }
  });

  test('concurrent runs on one scheduler do not share multistep state', async () => {
    const s = scheduler('dpmpp-2m', 10);
    const options: RunSamplerOptions = { scheduler: s, model: pixelwiseOracle(), shape: SHAPE, seed: 9, noiseInput: 'alpha-bar' };
    const alone = await runSampler(options);
    const [a, b] = await Promise.all([runSampler(options), runSampler(options)]);
    expect(Buffer.from(a.buffer).equals(Buffer.from(alone.buffer))).toBe(true);
    expect(Buffer.from(b.buffer).equals(Buffer.from(alone.buffer))).toBe(true);
  });

  test('abort between steps throws ABORTED and stops calling the model', async () => {
    const controller = new AbortController();
    let calls = 0;
    const model = pixelwiseOracle();
    const error = await rejection(
      runSampler({
        scheduler: scheduler('ddim', 10), shape: SHAPE, seed: 1, noiseInput: 'alpha-bar', signal: controller.signal,
        model: (batch) => {
          calls += 1;
          return model(batch);
        },
        onProgress: (e) => {
          if (e.kind === 'step' && e.step === 3) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    expect(calls).toBe(3);
  });

  test('abort between tile batches throws ABORTED before the next batch', async () => {
    const controller = new AbortController();
    let calls = 0;
    const model = pixelwiseOracle();
    const error = await rejection(
      runSampler({
        scheduler: scheduler('ddpm', 10), shape: SHAPE, seed: 1, noiseInput: 'alpha-bar', signal: controller.signal,
        tiling: { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 2 },
        model: (batch) => {
          calls += 1;
          if (calls === 5) controller.abort('user cancelled');
          return model(batch);
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    expect(error.cause).toBe('user cancelled');
    expect(calls).toBe(5);
  });

  test('abort while a model call hangs rejects promptly; an aborted signal calls nothing', async () => {
    const controller = new AbortController();
    let calls = 0;
    const hanging = runSampler({
      scheduler: scheduler('ddim', 5), shape: SHAPE, seed: 1, noiseInput: 'alpha-bar', signal: controller.signal,
      model: () => {
        calls += 1;
        setImmediate(() => controller.abort());
        return new Promise<Float32Array>(() => {});
      },
    });
    expect((await rejection(hanging)).code).toBe('ABORTED');
    expect(calls).toBe(1);
    const aborted = AbortSignal.abort();
    let later = 0;
    const error = await rejection(
      runSampler({ scheduler: scheduler('ddim', 5), shape: SHAPE, seed: 1, noiseInput: 'alpha-bar', signal: aborted, model: async () => {
        later += 1;
        return new Float32Array(0);
      } }),
    );
    expect(error.code).toBe('ABORTED');
    expect(later).toBe(0);
  });

  test('misuse is reported with coded errors', async () => {
    const ready = scheduler('ddim', 4);
    const base: RunSamplerOptions = { scheduler: ready, model: pixelwiseOracle(), shape: SHAPE, seed: 1, noiseInput: 'alpha-bar' };
    const notReady = createScheduler({ sampler: 'ddim', schedule: SCHEDULE });
    expect((await rejection(runSampler({ ...base, scheduler: notReady }))).code).toBe('SCHEDULER_NOT_READY');
    const wrong = await rejection(runSampler({ ...base, model: async () => new Float32Array(5) }));
    expect(wrong.code).toBe('MODEL_INCOMPATIBLE');
    expect(wrong.message).toContain(`${3 * 70 * 93} values`);
    const failing = await rejection(runSampler({ ...base, model: async () => { throw new Error('session exploded'); } }));
    expect(failing.code).toBe('ENGINE_FAILED');
    expect(failing.message).toContain('session exploded');
    expect((await rejection(runSampler({ ...base, seed: undefined }))).message).toContain('for seed');
    expect((await rejection(runSampler({ ...base, init: { x: new Float32Array(3 * 70 * 93), startStep: 4 } }))).message).toContain('init.startStep');
    expect((await rejection(runSampler({ ...base, shape: { channels: 0, height: 1, width: 1 } }))).message).toContain('shape.channels');
    expect((await rejection(runSampler({ ...base, noiseInput: 'sigma' as never }))).code).toBe('INVALID_OPTION');
  });
});
