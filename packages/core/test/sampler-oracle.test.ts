/**
 * The samplers against exact answers. For data x0 ~ N(mu, s^2) per pixel, the minimum-error predictions at noise
 * level ab are closed form:
 *   eps*(x_t) = sqrt(1 - ab) (x_t - sqrt(ab) mu) / (ab s^2 + 1 - ab),   x0* = (x_t - sqrt(1 - ab) eps*) / sqrt(ab),
 *   v* = sqrt(ab) eps* - sqrt(1 - ab) x0*.
 * A sampler driven by this oracle should turn N(0, 1) noise into N(mu, s^2) samples, up to its discretisation error.
 *
 * Two kinds of check:
 * - Probes (deterministic samplers): the map x_T -> output is affine, y = a x_T + b, so two runs (x_T = 0 and 1)
 *   give the exact output law N(b, a^2) with no sampling noise. |b - mu| and ||a| - s| are the discretisation
 *   errors; each must stay under the bound in DISCRETISATION (measured, then rounded up by about a quarter; the same
 *   table is in docs/samplers.md). For DDIM the affine map is also derived here independently, step by step, from
 *   eq. 12 of Song et al. 2021 and the oracle, and must match to float precision.
 * - Monte Carlo over 102,400 pixels through runSampler with real noise: |mean - mu| <= bound + 5 s / sqrt(N) and
 *   |std - s| <= bound + 5 s / sqrt(2N) (standard errors of the sample mean and standard deviation of N Gaussian
 *   values; 5 of them is a two-sided p of 6e-7 per check).
 */
import { createScheduler, runSampler } from '@diffusekit/core';
import type { SamplerModel, Scheduler } from '@diffusekit/core';

type Prediction = 'eps' | 'x0' | 'v';
type ScheduleName = 'linear' | 'cosine';
type NoiseInput = 'timestep' | 'sqrt-alpha-bar' | 'alpha-bar';

const MU = 0.5;
const S = 0.5;
const TRAIN_STEPS = 1000;

/** alpha-bar tables computed here, independently of the library: product formula / Nichol & Dhariwal eq. 17. */
const ALPHA_BAR: Record<ScheduleName, Float64Array> = {
  linear: (() => {
    const table = new Float64Array(TRAIN_STEPS);
    let product = 1;
    for (let t = 0; t < TRAIN_STEPS; t++) {
      product *= 1 - (1e-4 + ((0.02 - 1e-4) * t) / (TRAIN_STEPS - 1));
      table[t] = product;
    }
    return table;
  })(),
  cosine: (() => {
    const f = (t: number): number => Math.cos(((t / TRAIN_STEPS + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const table = new Float64Array(TRAIN_STEPS);
    for (let t = 0; t < TRAIN_STEPS - 1; t++) table[t] = f(t + 1) / f(0);
    table[TRAIN_STEPS - 1] = table[TRAIN_STEPS - 2]! * (1 - 0.999); // the clipped last beta
    return table;
  })(),
};

const SCHEDULE_SPEC = {
  linear: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: TRAIN_STEPS },
  cosine: { kind: 'cosine', trainSteps: TRAIN_STEPS },
} as const;

/**
 * Discretisation-error bounds per (sampler, steps, schedule), default 'linspace' spacing. Measured values (same for
 * eps, x0 and v): see docs/samplers.md. The linear schedule's mean error of -1.6e-3 is not the solver's: x_T starts
 * as N(0, 1) while the true x_T has mean sqrt(ab_999) mu = 0.0032, and the flow carries that offset through scaled
 * by s: -s sqrt(ab_999) mu = -1.59e-3.
 */
const DISCRETISATION: Record<string, { mean: number; std: number }> = {
  'ddim/50/linear': { mean: 2e-3, std: 3.5e-2 }, // measured -1.50e-3, -2.81e-2
  'ddim/1000/linear': { mean: 2e-3, std: 2e-3 }, // measured -1.58e-3, -1.51e-3
  'ddim/50/cosine': { mean: 2e-5, std: 2e-2 }, // measured -1.19e-5, -1.55e-2
  'ddim/1000/cosine': { mean: 2e-5, std: 1e-3 }, // measured -1.24e-5, -8.11e-4
  'dpmpp-2m/10/linear': { mean: 2e-3, std: 1.35e-1 }, // measured -1.25e-3, -1.08e-1
  'dpmpp-2m/20/linear': { mean: 2e-3, std: 3e-2 }, // measured -1.51e-3, -2.35e-2
  'dpmpp-2m/10/cosine': { mean: 2e-5, std: 4e-2 }, // measured -1.16e-5, -3.07e-2
  'dpmpp-2m/20/cosine': { mean: 2e-5, std: 2.1e-3 }, // measured -1.23e-5, -1.66e-3
  'ddpm/1000/linear': { mean: 2e-5, std: 5e-3 }, // exact discrete law (recursion below): -5.0e-6, -3.89e-3
};

/** The oracle as a model function; it recovers alpha-bar from the noise input the way the network would see it. */
function oracle(prediction: Prediction, schedule: ScheduleName, noiseInput: NoiseInput, mu = MU, s = S): SamplerModel {
  return async ({ x, noiseLevel }) => {
    const ab = noiseInput === 'alpha-bar' ? noiseLevel : noiseInput === 'sqrt-alpha-bar' ? noiseLevel * noiseLevel : ALPHA_BAR[schedule][noiseLevel]!;
    const signal = Math.sqrt(ab);
    const noise = Math.sqrt(1 - ab);
    const denominator = ab * s * s + 1 - ab;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const eps = (noise * (x[i]! - signal * mu)) / denominator;
      const x0 = (x[i]! - noise * eps) / signal;
      out[i] = prediction === 'eps' ? eps : prediction === 'x0' ? x0 : signal * eps - noise * x0;
    }
    return out;
  };
}

function makeScheduler(sampler: 'ddim' | 'dpmpp-2m' | 'ddpm', steps: number, schedule: ScheduleName, prediction: Prediction): Scheduler {
  const s = createScheduler({ sampler, prediction, schedule: SCHEDULE_SPEC[schedule] });
  s.setTimesteps(steps);
  return s;
}

/** The exact law N(b, a^2) of a deterministic sampler's output for x_T ~ N(0, 1), from two runs. */
async function probe(scheduler: Scheduler, prediction: Prediction, schedule: ScheduleName, mu = MU, s = S): Promise<{ a: number; b: number }> {
  const y = await runSampler({
    scheduler, model: oracle(prediction, schedule, 'alpha-bar', mu, s), shape: { channels: 1, height: 1, width: 2 }, seed: 0,
    noiseInput: 'alpha-bar', init: { x: new Float32Array([0, 1]), startStep: 0 },
  });
  return { b: y[0]!, a: y[1]! - y[0]! };
}

function moments(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

const MC_SHAPE = { channels: 4, height: 160, width: 160 };
const N = MC_SHAPE.channels * MC_SHAPE.height * MC_SHAPE.width;
const SE_MEAN = S / Math.sqrt(N);
const SE_STD = S / Math.sqrt(2 * N);

describe('deterministic samplers: exact output law against N(mu, s^2)', () => {
  const configs = [
    ['ddim', 50, 'linear'], ['ddim', 1000, 'linear'], ['ddim', 50, 'cosine'], ['ddim', 1000, 'cosine'],
    ['dpmpp-2m', 10, 'linear'], ['dpmpp-2m', 20, 'linear'], ['dpmpp-2m', 10, 'cosine'], ['dpmpp-2m', 20, 'cosine'],
  ] as const;

  test.each(configs)('%s at %i steps, %s schedule: discretisation error within its bound for eps, x0 and v', async (sampler, steps, schedule) => {
    const bound = DISCRETISATION[`${sampler}/${steps}/${schedule}`]!;
    for (const prediction of ['eps', 'x0', 'v'] as const) {
      const { a, b } = await probe(makeScheduler(sampler, steps, schedule, prediction), prediction, schedule);
      expect(Math.abs(b - MU)).toBeLessThan(bound.mean);
      expect(Math.abs(Math.abs(a) - S)).toBeLessThan(bound.std);
    }
  });

  test('DDIM matches its own exact discrete map, derived from eq. 12 step by step', async () => {
    // With z = x_t - sqrt(ab) mu, the oracle gives x0* = mu + sqrt(ab) s^2 z / d and eps* = sqrt(1 - ab) z / d with
    // d = ab s^2 + 1 - ab, so eq. 12 maps z to k z with k = (sqrt(ab_prev ab) s^2 + sqrt((1 - ab_prev)(1 - ab))) / d.
    for (const schedule of ['linear', 'cosine'] as const) {
      for (const steps of [10, 50, 1000]) {
        const scheduler = makeScheduler('ddim', steps, schedule, 'eps');
        const abs = scheduler.timesteps.map((t) => ALPHA_BAR[schedule][t]!);
        let gain = 1;
        abs.forEach((ab, i) => {
          const abPrev = abs[i + 1] ?? 1;
          gain *= (Math.sqrt(abPrev * ab) * S * S + Math.sqrt((1 - abPrev) * (1 - ab))) / (ab * S * S + 1 - ab);
        });
        const { a, b } = await probe(scheduler, 'eps', schedule);
        // Float32 rounding of the model's eps (2^-24 relative) is amplified by 1/sqrt(ab) in x0: 2e4 at t = 999 on
        // the cosine schedule, which leaves up to 4e-5 in a after 10 steps; elsewhere the agreement is near 1e-7.
        expect(Math.abs(a - gain)).toBeLessThan(1e-4);
        expect(Math.abs(b - (MU - gain * Math.sqrt(abs[0]!) * MU))).toBeLessThan(2e-6);
      }
    }
  });

  test('the second-order solver is an order of magnitude closer than DDIM at 20 steps', async () => {
    const ddim = await probe(makeScheduler('ddim', 20, 'cosine', 'eps'), 'eps', 'cosine');
    const dpm = await probe(makeScheduler('dpmpp-2m', 20, 'cosine', 'eps'), 'eps', 'cosine');
    expect(Math.abs(Math.abs(dpm.a) - S) * 10).toBeLessThan(Math.abs(Math.abs(ddim.a) - S));
  });

  test('with s -> 0 (a point mass) DDIM and DPM-Solver++ land on mu from any start', async () => {
    for (const [sampler, steps] of [['ddim', 50], ['ddim', 10], ['dpmpp-2m', 10], ['dpmpp-2m', 20]] as const) {
      for (const prediction of ['eps', 'x0', 'v'] as const) {
        for (const schedule of ['linear', 'cosine'] as const) {
          const y = await runSampler({
            scheduler: makeScheduler(sampler, steps, schedule, prediction), model: oracle(prediction, schedule, 'alpha-bar', -0.3, 0),
            shape: { channels: 1, height: 32, width: 32 }, seed: 5, noiseInput: 'alpha-bar',
          });
          let worst = 0;
          for (const v of y) worst = Math.max(worst, Math.abs(v - -0.3));
          // float32 eps at ab = 4e-5 carries 6e-8 relative error, amplified by 1/sqrt(ab) = 160 in x0.
          expect(worst).toBeLessThan(1e-4);
        }
      }
    }
  });
});

describe('Monte Carlo over 102,400 pixels through runSampler', () => {
  async function sample(
    sampler: 'ddim' | 'dpmpp-2m' | 'ddpm', steps: number, schedule: ScheduleName, prediction: Prediction, noiseInput: NoiseInput, seed: number,
  ): Promise<{ mean: number; std: number }> {
    const y = await runSampler({
      scheduler: makeScheduler(sampler, steps, schedule, prediction), model: oracle(prediction, schedule, noiseInput),
      shape: MC_SHAPE, seed, noiseInput,
    });
    return moments(y);
  }

  test.each([
    ['ddim', 50, 'linear', 'eps', 'timestep'],
    ['ddim', 1000, 'cosine', 'v', 'sqrt-alpha-bar'],
    ['dpmpp-2m', 10, 'cosine', 'x0', 'alpha-bar'],
    ['dpmpp-2m', 20, 'linear', 'eps', 'sqrt-alpha-bar'],
    ['dpmpp-2m', 20, 'cosine', 'v', 'timestep'],
  ] as const)('%s at %i steps (%s, %s prediction, %s input): sample mean and std match mu and s', async (sampler, steps, schedule, prediction, noiseInput) => {
    const bound = DISCRETISATION[`${sampler}/${steps}/${schedule}`]!;
    const { mean, std } = await sample(sampler, steps, schedule, prediction, noiseInput, 11);
    expect(Math.abs(mean - MU)).toBeLessThan(bound.mean + 5 * SE_MEAN);
    expect(Math.abs(std - S)).toBeLessThan(bound.std + 5 * SE_STD);
  });

  test('DDPM at 1000 steps: sample moments match N(mu, s^2) and the exact law of the discrete chain', async () => {
    // The exact law of ancestral sampling with the oracle, by recursion over Ho et al. eq. 6-7: with
    // x_prev = P x0* + Q x + sqrt(beta~) z and x0* = mu + c (x - sqrt(ab) mu), c = sqrt(ab) s^2 / d,
    //   m_prev = P (mu + c (m - sqrt(ab) mu)) + Q m,   v_prev = (P c + Q)^2 v + beta~.
    // It differs from N(mu, s^2) only because beta~ omits Var[x0 | x_t] (Bao et al. 2022, Analytic-DPM).
    const ab = ALPHA_BAR.linear;
    let m = 0;
    let v = 1;
    for (let t = TRAIN_STEPS - 1; t >= 0; t--) {
      const abT = ab[t]!;
      const abPrev = t > 0 ? ab[t - 1]! : 1;
      const beta = 1 - abT / abPrev;
      const p = (Math.sqrt(abPrev) * beta) / (1 - abT);
      const q = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - abT);
      const c = (Math.sqrt(abT) * S * S) / (abT * S * S + 1 - abT);
      m = p * (MU + c * (m - Math.sqrt(abT) * MU)) + q * m;
      v = (p * c + q) ** 2 * v + ((1 - abPrev) / (1 - abT)) * beta;
    }
    const bound = DISCRETISATION['ddpm/1000/linear']!;
    expect(Math.abs(m - MU)).toBeLessThan(bound.mean);
    expect(Math.abs(Math.sqrt(v) - S)).toBeLessThan(bound.std);
    const { mean, std } = await sample('ddpm', 1000, 'linear', 'eps', 'timestep', 12);
    expect(Math.abs(mean - m)).toBeLessThan(5 * SE_MEAN);
    expect(Math.abs(std - Math.sqrt(v))).toBeLessThan(5 * SE_STD);
    expect(Math.abs(mean - MU)).toBeLessThan(bound.mean + 5 * SE_MEAN);
    expect(Math.abs(std - S)).toBeLessThan(bound.std + 5 * SE_STD);
  });
});
