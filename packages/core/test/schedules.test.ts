import { createScheduler, makeSchedule, spacedTimesteps } from '@diffusekit/core';
import type { ScheduleSpec } from '@diffusekit/core';
import { thrown } from './helpers.js';


/** Independent float64 reference: alpha-bar_t = prod_{i <= t} (1 - beta_i), summed in log space to differ in rounding. */
function alphaBarByProduct(betas: (i: number) => number, count: number): number[] {
  const out: number[] = [];
  let logSum = 0;
  for (let i = 0; i < count; i++) {
    logSum += Math.log1p(-betas(i));
    out.push(Math.exp(logSum));
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Math.abs(a - e) > relative * Math.abs(e)) throw new Error(`entry ${i}: ${a} differs from ${e} by more than ${relative} relative`);
  }
}

describe('noise schedules', () => {
  test('linear: betas evenly spaced from betaStart to betaEnd, alpha-bar is their running product', () => {
    for (const trainSteps of [1, 2, 10, 1000, 4000]) {
      const s = makeSchedule({ kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps });
      const beta = (i: number): number => (trainSteps === 1 ? 1e-4 : 1e-4 + ((0.02 - 1e-4) * i) / (trainSteps - 1));
      expectClose(s.betas, Array.from({ length: trainSteps }, (_, i) => beta(i)), 1e-12);
      expectClose(s.alphas, Array.from({ length: trainSteps }, (_, i) => 1 - beta(i)), 1e-12);
      expectClose(s.alphaBar, alphaBarByProduct(beta, trainSteps), 1e-10);
      expect(s.alphaBar).toBeInstanceOf(Float64Array);
    }
    // By hand: log alpha-bar_T = sum log(1 - beta) = -(sum beta + sum beta^2 / 2 + ...) = -(10.05 + 0.067 + ...),
    // so alpha-bar_T is about 4.0e-5: x_T is pure noise to within 0.6 % of its scale.
    const ddpm = makeSchedule({ kind: 'linear', trainSteps: 1000 });
    expect(ddpm.alphaBar[999]).toBeGreaterThan(3e-5);
    expect(ddpm.alphaBar[999]).toBeLessThan(5e-5);
  });

  test('quad: linear in sqrt(beta), squared', () => {
    const s = makeSchedule({ kind: 'quad', betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 });
    const root = (i: number): number => Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * i) / 999;
    expectClose(s.betas, Array.from({ length: 1000 }, (_, i) => root(i) ** 2), 1e-12);
    expectClose(s.alphaBar, alphaBarByProduct((i) => root(i) ** 2, 1000), 1e-10);
  });

  test('cosine (Nichol & Dhariwal 2021): first and last entries, clipping at 0.999, monotone', () => {
    for (const trainSteps of [50, 1000, 4000]) {
      const s = makeSchedule({ kind: 'cosine', trainSteps });
      const f = (t: number): number => Math.cos(((t / trainSteps + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      // Unclipped entries equal f(t + 1) / f(0) exactly (eq. 17, indexed from the first noisy step).
      expect(s.alphaBar[0]).toBeCloseTo(f(1) / f(0), 14);
      let worst = 0;
      for (let t = 0; t < trainSteps - 1; t++) {
        if (s.betas[t]! < 0.999) worst = Math.max(worst, Math.abs(s.alphaBar[t]! - f(t + 1) / f(0)));
      }
      expect(worst).toBeLessThan(1e-12);
      // f(T) = cos^2(pi / 2) = 0, so the last beta is clipped and the last entry is alpha-bar_{T-2} * 0.001.
      expect(s.betas[trainSteps - 1]).toBe(0.999);
      expect(s.alphaBar[trainSteps - 1]! / s.alphaBar[trainSteps - 2]!).toBeCloseTo(0.001, 12);
      const badIndex = Array.from(s.betas).findIndex(
        (beta, t) => !(beta > 0 && beta <= 0.999) || (t > 0 && !(s.alphaBar[t]! < s.alphaBar[t - 1]!)),
      );
      expect(badIndex).toBe(-1);
    }
    // Near t = 0 the schedule is almost flat: by small-angle expansion beta_0 = 1 - f(1)/f(0) is about 4.1e-5.
    const s = makeSchedule({ kind: 'cosine', trainSteps: 1000 });
    expect(s.betas[0]).toBeGreaterThan(3e-5);
    expect(s.betas[0]).toBeLessThan(5e-5);
  });

  test('explicit betas are used as given', () => {
    const betas = [0.1, 0.2, 0.3];
    const s = makeSchedule({ kind: 'betas', betas });
    expect(Array.from(s.betas)).toEqual(betas);
    expectClose(s.alphaBar, [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7], 1e-15);
    expect(s.trainSteps).toBe(3);
    expect(s.spec).toEqual({ kind: 'betas', betas });
  });

  test('defaults are filled in and reported in the spec', () => {
    expect(makeSchedule({ kind: 'linear', trainSteps: 10 }).spec).toEqual({ kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 10 });
    expect(makeSchedule({ kind: 'cosine', trainSteps: 10 }).spec).toEqual({ kind: 'cosine', trainSteps: 10, offset: 0.008, maxBeta: 0.999 });
  });

  test('invalid schedules throw SCHEDULE_INVALID naming the field', () => {
    const cases: [unknown, string][] = [
      [{ kind: 'linear', trainSteps: 0 }, 'schedule.trainSteps'],
      [{ kind: 'linear', trainSteps: 10.5 }, 'schedule.trainSteps'],
      [{ kind: 'linear' }, 'schedule.trainSteps'],
      [{ kind: 'linear', trainSteps: 10, betaStart: -1 }, 'schedule.betaStart'],
      [{ kind: 'quad', trainSteps: 10, betaEnd: 1 }, 'schedule.betaEnd'],
      [{ kind: 'linear', trainSteps: 10, betaStart: 0.02, betaEnd: 0.01 }, 'schedule.betaEnd'],
      [{ kind: 'cosine', trainSteps: 10, offset: 0 }, 'schedule.offset'],
      [{ kind: 'betas', betas: [] }, 'schedule.betas'],
      [{ kind: 'betas', betas: [0.1, Number.NaN] }, 'schedule.betas[1]'],
      [{ kind: 'betas', betas: [0.1, 1] }, 'schedule.betas[1]'],
      [{ kind: 'sigmoid', trainSteps: 10 }, 'schedule.kind'],
      [null, 'schedule.kind'],
    ];
    for (const [spec, field] of cases) {
      const error = thrown(() => makeSchedule(spec as ScheduleSpec));
      expect(error.code).toBe('SCHEDULE_INVALID');
      expect(error.message).toContain(`for ${field} but received`);
      expect(error.details).toMatchObject({ field });
    }
    // createScheduler reports the same error for its schedule.
    const error = thrown(() => createScheduler({ sampler: 'ddim', schedule: { kind: 'linear', trainSteps: -3 } }));
    expect(error.code).toBe('SCHEDULE_INVALID');
  });
});

describe('timestep spacing', () => {
  test('leading, trailing and linspace follow their definitions and descend', () => {
    for (const [trainSteps, steps] of [[1000, 50], [1000, 10], [1000, 7], [1000, 1000], [100, 3], [1000, 1]] as const) {
      const leading = spacedTimesteps('leading', steps, trainSteps);
      const stride = Math.floor(trainSteps / steps);
      expect(leading).toEqual(Array.from({ length: steps }, (_, i) => (steps - 1 - i) * stride));
      const trailing = spacedTimesteps('trailing', steps, trainSteps);
      expect(trailing[0]).toBe(trainSteps - 1);
      expect(trailing).toEqual(Array.from({ length: steps }, (_, i) => Math.round(trainSteps - (i * trainSteps) / steps) - 1));
      const linspace = spacedTimesteps('linspace', steps, trainSteps);
      expect(linspace[0]).toBe(trainSteps - 1);
      if (steps > 1) expect(linspace[steps - 1]).toBe(0);
      for (const list of [leading, trailing, linspace]) {
        expect(list).toHaveLength(steps);
        for (let i = 1; i < list.length; i++) expect(list[i]!).toBeLessThan(list[i - 1]!);
        for (const t of list) expect(t >= 0 && t < trainSteps && Number.isInteger(t)).toBe(true);
      }
    }
    expect(spacedTimesteps('leading', 50, 1000).slice(0, 3)).toEqual([980, 960, 940]);
    expect(spacedTimesteps('trailing', 50, 1000).slice(-2)).toEqual([39, 19]);
  });

  test('step counts outside [1, trainSteps] are rejected', () => {
    for (const steps of [0, 1001, 2.5]) {
      const error = thrown(() => spacedTimesteps('linspace', steps, 1000));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toContain('[1, 1000]');
    }
  });
});
