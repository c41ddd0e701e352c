import { createScheduler, runSampler } from '@diffusekit/core';
import type { ModelBatch, RunSamplerOptions, SamplerModel, Scheduler } from '@diffusekit/core';
import { rejection } from './helpers.js';

const { abs, sqrt } = Math;
const SHAPE = { channels: 3, height: 70, width: 93 };
const PLANE = SHAPE.height * SHAPE.width;
const TILING = { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 3 };

function scheduler(sampler: 'ddpm' | 'ddim' | 'dpmpp-2m', steps: number): Scheduler {
  const s = createScheduler({ sampler, prediction: 'eps', schedule: { kind: 'cosine', trainSteps: 1000 } });
  s.setTimesteps(steps);
  return s;
}

/** The optimal eps for x0 ~ N(0.1, 0.5^2) at every pixel: its output at a pixel depends on that pixel only. */
function pixelwiseModel(calls: ModelBatch[] = []): SamplerModel {
  return async (batch) => {
    calls.push({ ...batch, x: Float32Array.from(batch.x) });
    const ab = batch.noiseLevel;
    return Float32Array.from(batch.x, (x) => (sqrt(1 - ab) * (x - sqrt(ab) * 0.1)) / (ab * 0.25 + 1 - ab));
  };
}

/** A hole in the middle (generated) and known pixels around it with values far from what the model would make. */
function region(resample?: number): { image: Float32Array; mask: Uint8Array; resample?: number } {
  const mask = new Uint8Array(PLANE);
  for (let y = 20; y < 50; y++) for (let x = 25; x < 75; x++) mask[y * SHAPE.width + x] = 1;
  const image = Float32Array.from({ length: 3 * PLANE }, (_, i) => -0.8 + 0.5 * ((i * 7) % 5) / 4);
  return { image, mask, ...(resample === undefined ? {} : { resample }) };
}

const base = (s: Scheduler, model: SamplerModel = pixelwiseModel()): RunSamplerOptions => ({ scheduler: s, model, shape: SHAPE, seed: 5, noiseInput: 'alpha-bar' });

describe('runSampler with a known region', () => {
  test('known pixels end exactly at the given image; generated pixels are what the unconstrained run makes there', async () => {
    for (const sampler of ['ddim', 'ddpm', 'dpmpp-2m'] as const) {
      const known = region();
      const free = await runSampler(base(scheduler(sampler, 8)));
      for (const tiling of [undefined, TILING]) {
        const out = await runSampler({ ...base(scheduler(sampler, 8)), known, ...(tiling ? { tiling } : {}) });
        let knownChanged = 0;
        let generatedMoved = 0;
        let freeDiffers = 0;
        for (let i = 0; i < out.length; i++) {
          const hole = known.mask[i % PLANE] === 1;
          if (!hole && out[i] !== known.image[i]) knownChanged++;
          // A pixelwise model sees only its own pixel, so the hole must match the unconstrained run (and the known
          // part must not, or the test would not tell the two apart).
          if (hole && abs(out[i]! - free[i]!) > 1e-5) generatedMoved++;
          if (!hole && abs(free[i]! - known.image[i]!) > 0.1) freeDiffers++;
        }
        expect([knownChanged, generatedMoved]).toEqual([0, 0]);
        expect(freeDiffers).toBeGreaterThan(1000);
      }
    }
  });

  test('before every step the known pixels hold the image noised to that step, with fresh noise', async () => {
    const s = scheduler('ddim', 10);
    const calls: ModelBatch[] = [];
    const known = region();
    await runSampler({ ...base(s, pixelwiseModel(calls)), known });
    expect(calls).toHaveLength(10);
    for (let step = 1; step < calls.length; step++) {
      const ab = s.alphaBar(s.timesteps[step]!);
      const { x, width } = calls[step]!;
      let sum = 0;
      let squares = 0;
      let count = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < SHAPE.height; y++)
          for (let px = 0; px < SHAPE.width; px++) {
            if (known.mask[y * SHAPE.width + px]) continue;
            const z = (x[(c * calls[step]!.height + y) * width + px]! - sqrt(ab) * known.image[c * PLANE + y * SHAPE.width + px]!) / sqrt(1 - ab);
            sum += z;
            squares += z * z;
            count++;
          }
      const mean = sum / count;
      expect(abs(mean)).toBeLessThan(0.05);
      expect(abs(sqrt(squares / count - mean * mean) - 1)).toBeLessThan(0.05);
    }
  });

  test('resampling retries every step, stays seeded, keeps the known pixels and reports steps once', async () => {
    const calls: ModelBatch[] = [];
    const steps: number[] = [];
    const known = region(3);
    const options: RunSamplerOptions = { ...base(scheduler('ddpm', 4), pixelwiseModel(calls)), known, tiling: TILING, onProgress: (e) => e.kind === 'step' && steps.push(e.step) };
    const a = await runSampler(options);
    const callsPerStep = calls.length / 12;
    expect(Number.isInteger(callsPerStep)).toBe(true);
    expect(steps).toEqual([1, 2, 3, 4]);
    // The second try of the first step starts from x re-noised to the first level, not from the first try's result.
    expect(calls[callsPerStep]!.noiseLevel).toBe(calls[0]!.noiseLevel);
    const b = await runSampler({ ...options, onProgress: undefined, model: pixelwiseModel() });
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let knownChanged = 0;
    for (let i = 0; i < a.length; i++) if (!known.mask[i % PLANE] && a[i] !== known.image[i]) knownChanged++;
    expect(knownChanged).toBe(0);
    const once = await runSampler({ ...options, onProgress: undefined, known: region(1) });
    expect(Buffer.from(once.buffer).equals(Buffer.from(a.buffer))).toBe(false);
  });

  test('a known region that does not fit, or resampling with a multistep sampler, is refused', async () => {
    const options = base(scheduler('ddim', 4));
    const wrongMask = await rejection(runSampler({ ...options, known: { ...region(), mask: new Uint8Array(10) } }));
    expect([wrongMask.code, wrongMask.message]).toEqual(['INVALID_OPTION', expect.stringContaining('known.mask')]);
    const wrongImage = await rejection(runSampler({ ...options, known: { ...region(), image: new Float32Array(PLANE) } }));
    expect(wrongImage.message).toContain('known.image');
    expect((await rejection(runSampler({ ...options, known: region(0) }))).message).toContain('known.resample');
    const multistep = await rejection(runSampler({ ...base(scheduler('dpmpp-2m', 4)), known: region(2) }));
    expect([multistep.code, multistep.message]).toEqual(['INVALID_OPTION', expect.stringContaining('dpmpp-2m')]);
  });
});
