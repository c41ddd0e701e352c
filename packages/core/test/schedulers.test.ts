import { convertPrediction, createRng, createScheduler, noiseInputFor } from '@diffusekit/core';
import type { Scheduler } from '@diffusekit/core';
import { thrown } from './helpers.js';

const LINEAR = { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 } as const;

/** alpha-bar of the linear schedule, computed here in float64 from the product formula. */
function linearAlphaBar(t: number): number {
  let product = 1;
  for (let i = 0; i <= t; i++) product *= 1 - (1e-4 + ((0.02 - 1e-4) * i) / 999);
  return product;
}


function randomInputs(seed: number, n: number): { x: Float32Array; eps: Float32Array; z: Float32Array } {
  const rng = createRng(seed);
  const x = rng.normal(n);
  const eps = rng.normal(n);
  const z = rng.normal(n);
  return { x, eps, z };
}

/** Largest |a - b| relative to max(1, |b|). */
function maxError(actual: Float32Array, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  return worst;
}

describe('scheduler API', () => {
  test('the documented usage works as written', () => {
    const s = createScheduler({ sampler: 'ddim', eta: 0, prediction: 'eps', schedule: LINEAR, spacing: 'leading' });
    s.setTimesteps(50);
    expect(s.timesteps).toHaveLength(50);
    expect(s.timesteps[0]).toBe(980);
    expect(s.alphaBar(980)).toBeCloseTo(linearAlphaBar(980), 12);
    const { x, eps } = randomInputs(1, 64);
    const t = s.timesteps[0]!;
    const { prev, x0 } = s.step(eps, t, x, createRng(7));
    expect(prev).toHaveLength(64);
    expect(x0).toHaveLength(64);
    const noisy = s.addNoise(x0, eps, t);
    const ab = linearAlphaBar(t);
    for (let i = 0; i < 64; i++) expect(noisy[i]).toBeCloseTo(Math.sqrt(ab) * x0[i]! + Math.sqrt(1 - ab) * eps[i]!, 5);
  });

  test('step before setTimesteps throws SCHEDULER_NOT_READY naming the missing call', () => {
    for (const sampler of ['ddpm', 'ddim', 'dpmpp-2m'] as const) {
      const s = createScheduler({ sampler, schedule: LINEAR });
      const error = thrown(() => s.step(new Float32Array(4), 999, new Float32Array(4), createRng(1)));
      expect(error.code).toBe('SCHEDULER_NOT_READY');
      expect(error.message).toContain('setTimesteps(steps) before step()');
      expect(error.details).toMatchObject({ missing: 'setTimesteps' });
    }
  });

  test('config is complete, JSON-serialisable and recreates an identical scheduler', () => {
    const s = createScheduler({ sampler: 'ddim', eta: 0.5, schedule: { kind: 'cosine', trainSteps: 1000 }, clipX0: [-1, 1] });
    expect(s.config).toEqual({
      sampler: 'ddim', eta: 0.5, prediction: 'eps', spacing: 'linspace', clipX0: [-1, 1],
      schedule: { kind: 'cosine', trainSteps: 1000, offset: 0.008, maxBeta: 0.999 },
    });
    const copy = createScheduler(JSON.parse(JSON.stringify(s.config)) as typeof s.config);
    expect(copy.config).toEqual(s.config);
    s.setTimesteps(20);
    copy.setTimesteps(20);
    const { x, eps, z } = randomInputs(2, 256);
    const a = s.step(eps, s.timesteps[3]!, x, undefined, { noise: z });
    const b = copy.step(eps, copy.timesteps[3]!, x, undefined, { noise: z });
    expect(Buffer.from(a.prev.buffer).equals(Buffer.from(b.prev.buffer))).toBe(true);
  });

  test('invalid options name the option and list what is accepted', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sampler: 'euler' }, "Expected one of 'ddpm', 'ddim', 'dpmpp-2m' for sampler"],
      [{ sampler: 'ddim', eta: 2 }, 'Expected a number in [0, 1] for eta'],
      [{ sampler: 'ddim', prediction: 'score' }, "Expected one of 'eps', 'x0', 'v' for prediction"],
      [{ sampler: 'ddim', spacing: 'karras' }, "Expected one of 'leading', 'trailing', 'linspace' for spacing"],
      [{ sampler: 'ddim', clipX0: [1, -1] }, 'for clipX0'],
      [{ sampler: 'ddpm', eta: 0.5 }, "it applies to the 'ddim' sampler only"],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => createScheduler({ schedule: LINEAR, ...options } as never));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toContain(message);
    }
    const s = createScheduler({ sampler: 'ddpm', schedule: LINEAR });
    expect(thrown(() => s.setTimesteps(0)).code).toBe('INVALID_OPTION');
    s.setTimesteps(10);
    const n = new Float32Array(8);
    expect(thrown(() => s.step(n, 998, n, createRng(1))).message).toContain("Expected one of the scheduler's timesteps");
    expect(thrown(() => s.step(new Float32Array(7), 999, n, createRng(1))).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => s.step(n, 999, n)).message).toContain('for rng');
    expect(thrown(() => s.alphaBar(1000)).code).toBe('INVALID_ARGUMENT');
  });

  test('noiseInputFor gives the timestep, sqrt(alpha-bar) or alpha-bar', () => {
    const s = createScheduler({ sampler: 'ddpm', schedule: LINEAR });
    expect(noiseInputFor('timestep', s, 500)).toBe(500);
    expect(noiseInputFor('sqrt-alpha-bar', s, 500)).toBeCloseTo(Math.sqrt(linearAlphaBar(500)), 12);
    expect(noiseInputFor('alpha-bar', s, 500)).toBeCloseTo(linearAlphaBar(500), 12);
    expect(thrown(() => noiseInputFor('sigma' as never, s, 5)).code).toBe('INVALID_OPTION');
    expect(thrown(() => noiseInputFor('timestep', s, 1000)).code).toBe('INVALID_ARGUMENT');
  });

  test('convertPrediction maps eps, x0 and v into each other consistently', () => {
    const ab = 0.37;
    const { x, eps } = randomInputs(3, 128);
    const x0 = new Float64Array(128);
    const v = new Float64Array(128);
    for (let i = 0; i < 128; i++) {
      x0[i] = (x[i]! - Math.sqrt(1 - ab) * eps[i]!) / Math.sqrt(ab);
      v[i] = Math.sqrt(ab) * eps[i]! - Math.sqrt(1 - ab) * x0[i]!; // Salimans & Ho 2022, section 4
    }
    expect(maxError(convertPrediction('eps', 'x0', eps, x, ab), x0)).toBeLessThan(1e-5);
    expect(maxError(convertPrediction('eps', 'v', eps, x, ab), v)).toBeLessThan(1e-5);
    const asV = convertPrediction('eps', 'v', eps, x, ab);
    expect(maxError(convertPrediction('v', 'eps', asV, x, ab), eps)).toBeLessThan(1e-5);
    const asX0 = convertPrediction('eps', 'x0', eps, x, ab);
    expect(maxError(convertPrediction('x0', 'eps', asX0, x, ab), eps)).toBeLessThan(1e-5);
  });
});

describe('single steps against the papers\' closed forms', () => {
  /** Runs `scheduler` from its first timestep down to index `upTo`, with eps outputs given per step. */
  function stepsOf(s: Scheduler): { t: number; index: number; abT: number; abPrev: number }[] {
    return s.timesteps.map((t, index) => {
      const next = s.timesteps[index + 1];
      return { t, index, abT: linearAlphaBar(t), abPrev: next === undefined ? 1 : linearAlphaBar(next) };
    });
  }

  test('DDIM eta = 0 equals Song et al. 2021 eq. 12 for every step, for eps, x0 and v outputs', () => {
    const n = 1024;
    for (const spacing of ['leading', 'trailing', 'linspace'] as const) {
      const schedulers = (['eps', 'x0', 'v'] as const).map((prediction) => {
        const s = createScheduler({ sampler: 'ddim', eta: 0, prediction, schedule: LINEAR, spacing });
        s.setTimesteps(25);
        return { prediction, s };
      });
      for (const { t, index, abT, abPrev } of stepsOf(schedulers[0]!.s)) {
        const { x, eps } = randomInputs(100 + index, n);
        const expected = new Float64Array(n);
        const expectedX0 = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const x0 = (x[i]! - Math.sqrt(1 - abT) * eps[i]!) / Math.sqrt(abT);
          expectedX0[i] = x0;
          expected[i] = Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev) * eps[i]!;
        }
        for (const { prediction, s } of schedulers) {
          const out = prediction === 'eps' ? eps : convertPrediction('eps', prediction, eps, x, abT);
          const { prev, x0 } = s.step(out, t, x);
          // Float32 storage of inputs and outputs; x0 = (x - sqrt(1-ab) eps) / sqrt(ab) amplifies input rounding
          // by 1/sqrt(ab) (up to 160x at t = 999), hence the relative tolerance on x0 scaled by that factor.
          expect(maxError(prev, expected)).toBeLessThan(prediction === 'eps' ? 2e-6 : 2e-5);
          expect(maxError(x0, expectedX0)).toBeLessThan((prediction === 'eps' ? 2e-6 : 2e-5) / Math.sqrt(abT));
        }
      }
    }
  });

  test('DDIM eta > 0 adds sigma from eq. 16 times the given noise', () => {
    const n = 2048;
    for (const eta of [0.3, 1]) {
      const s = createScheduler({ sampler: 'ddim', eta, schedule: LINEAR, spacing: 'trailing' });
      s.setTimesteps(20);
      for (const { t, abT, abPrev, index } of stepsOf(s)) {
        const { x, eps, z } = randomInputs(200 + index, n);
        const sigma = eta * Math.sqrt((1 - abPrev) / (1 - abT)) * Math.sqrt(1 - abT / abPrev);
        const expected = Array.from(x, (xi, i) => {
          const x0 = (xi - Math.sqrt(1 - abT) * eps[i]!) / Math.sqrt(abT);
          return Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev - sigma * sigma) * eps[i]! + sigma * z[i]!;
        });
        expect(maxError(s.step(eps, t, x, undefined, { noise: z }).prev, expected)).toBeLessThan(2e-6);
      }
    }
  });

  test('DDPM equals the posterior of Ho et al. 2020 eq. 6-7 with beta-tilde, at 1000 and at 40 steps', () => {
    const n = 1024;
    for (const steps of [1000, 40]) {
      const s = createScheduler({ sampler: 'ddpm', schedule: LINEAR });
      s.setTimesteps(steps);
      for (const { t, abT, abPrev, index } of stepsOf(s)) {
        if (steps === 1000 && index % 97 !== 0 && index !== steps - 1) continue;
        const { x, eps, z } = randomInputs(300 + index, n);
        const beta = 1 - abT / abPrev; // the effective beta of the jump; beta_t itself when consecutive
        if (steps === 1000 && index < steps - 1) expect(beta).toBeCloseTo(1e-4 + ((0.02 - 1e-4) * t) / 999, 10);
        const betaTilde = ((1 - abPrev) / (1 - abT)) * beta;
        const expected = Array.from(x, (xi, i) => {
          const x0 = (xi - Math.sqrt(1 - abT) * eps[i]!) / Math.sqrt(abT);
          const mean = ((Math.sqrt(abPrev) * beta) / (1 - abT)) * x0 + ((Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - abT)) * xi;
          return mean + Math.sqrt(betaTilde) * z[i]!;
        });
        expect(maxError(s.step(eps, t, x, undefined, { noise: z }).prev, expected)).toBeLessThan(2e-6);
      }
    }
  });

  test('DDIM with eta = 1 is the DDPM step (Song et al. 2021, section 4.1)', () => {
    const ddim = createScheduler({ sampler: 'ddim', eta: 1, schedule: LINEAR });
    const ddpm = createScheduler({ sampler: 'ddpm', schedule: LINEAR });
    ddim.setTimesteps(30);
    ddpm.setTimesteps(30);
    for (const index of [0, 7, 29]) {
      const { x, eps, z } = randomInputs(700 + index, 1024);
      const t = ddim.timesteps[index]!;
      const a = ddim.step(eps, t, x, undefined, { noise: z }).prev;
      expect(maxError(a, ddpm.step(eps, t, x, undefined, { noise: z }).prev)).toBeLessThan(1e-6);
    }
    expect(ddim.needsNoise).toBe(true);
    expect(createScheduler({ sampler: 'ddim', eta: 0, schedule: LINEAR }).needsNoise).toBe(false);
  });

  test('DPM-Solver++(2M): first order equals DDIM, then the multistep update of Lu et al. 2022 algorithm 2', () => {
    const n = 1024;
    const s = createScheduler({ sampler: 'dpmpp-2m', schedule: LINEAR, spacing: 'trailing' });
    s.setTimesteps(10);
    const ddim = createScheduler({ sampler: 'ddim', eta: 0, schedule: LINEAR, spacing: 'trailing' });
    ddim.setTimesteps(10);
    const lambda = (ab: number): number => Math.log(Math.sqrt(ab) / Math.sqrt(1 - ab));
    let x = randomInputs(400, n).x;
    let previousX0: Float32Array | null = null;
    let previousLambda = 0;
    for (const { t, abT, abPrev, index } of stepsOf(s)) {
      const { eps } = randomInputs(401 + index, n);
      const { prev, x0 } = s.step(eps, t, x);
      let expected: number[];
      if (previousX0 === null || abPrev === 1) {
        expected = Array.from(ddim.step(eps, t, x).prev);
      } else {
        const h = lambda(abPrev) - lambda(abT);
        const r = (lambda(abT) - previousLambda) / h;
        expect(r).toBeGreaterThan(0.5); // trailing spacing keeps every step ratio in the second-order range
        const last = previousX0;
        expected = Array.from(x, (xi, i) => {
          const d = (1 + 1 / (2 * r)) * x0[i]! - (1 / (2 * r)) * last[i]!;
          return (Math.sqrt(1 - abPrev) / Math.sqrt(1 - abT)) * xi - Math.sqrt(abPrev) * (Math.exp(-h) - 1) * d;
        });
      }
      expect(maxError(prev, expected)).toBeLessThan(1e-5);
      previousX0 = x0;
      previousLambda = lambda(abT);
      x = prev;
    }
  });

  test('clipX0 clamps the predicted x0 and the step uses the clamped value', () => {
    const s = createScheduler({ sampler: 'ddim', eta: 0, schedule: LINEAR, clipX0: [-1, 1] });
    s.setTimesteps(10);
    const t = s.timesteps[2]!;
    const next = s.timesteps[3]!;
    const abT = linearAlphaBar(t);
    const abPrev = linearAlphaBar(next);
    const { x, eps } = randomInputs(500, 4096);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * 3;
    const { prev, x0 } = s.step(eps, t, x);
    let clipped = 0;
    const expected = Array.from(x, (xi, i) => {
      const raw = (xi - Math.sqrt(1 - abT) * eps[i]!) / Math.sqrt(abT);
      const c = Math.min(1, Math.max(-1, raw));
      if (c !== raw) clipped += 1;
      const e = (xi - Math.sqrt(abT) * c) / Math.sqrt(1 - abT); // eps consistent with the clamped x0
      return Math.sqrt(abPrev) * c + Math.sqrt(1 - abPrev) * e;
    });
    expect(clipped).toBeGreaterThan(100);
    expect(Math.max(...x0)).toBeLessThanOrEqual(1);
    expect(Math.min(...x0)).toBeGreaterThanOrEqual(-1);
    expect(maxError(prev, expected)).toBeLessThan(2e-6);
  });

  test('results can be written into given buffers, including in place', () => {
    const s = createScheduler({ sampler: 'ddim', eta: 0, schedule: LINEAR });
    s.setTimesteps(10);
    const { x, eps } = randomInputs(600, 512);
    const reference = s.step(eps, s.timesteps[1]!, x);
    const inPlace = Float32Array.from(x);
    const x0 = new Float32Array(512);
    const result = s.step(eps, s.timesteps[1]!, inPlace, undefined, { out: { prev: inPlace, x0 } });
    expect(result.prev).toBe(inPlace);
    expect(Array.from(inPlace)).toEqual(Array.from(reference.prev));
    expect(Array.from(x0)).toEqual(Array.from(reference.x0));
  });
});
