import { Worker } from 'node:worker_threads';
import { createRng, isDiffusekitError } from '@diffusekit/core';

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Runs `createRng(seed)` inside a worker thread (which loads the package itself) and returns what it drew there. */
function drawInWorker(seed: number, count: number, stream: number | null): Promise<Float32Array> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('@diffusekit/core').then(({ createRng }) => {
      const root = createRng(workerData.seed);
      const rng = workerData.stream === null ? root : root.derive(workerData.stream);
      parentPort.postMessage(rng.normal(workerData.count));
    }, (error) => { throw error; });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { seed, count, stream } });
    worker.once('message', (message: Float32Array) => {
      resolve(new Float32Array(message));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

// Test-side hot loops use these bindings: a global lookup such as `Math` is slow inside jest's vm context.
const { abs, max, min } = Math;

describe('createRng', () => {
  test('the same seed gives bit-identical normals and uniforms; other seeds and streams differ', () => {
    const a = createRng(12345);
    const b = createRng(12345);
    expect(bytesOf(a.normal(10_000)).equals(bytesOf(b.normal(10_000)))).toBe(true);
    const ua = Array.from({ length: 1000 }, () => a.uniform());
    const ub = Array.from({ length: 1000 }, () => b.uniform());
    expect(ua).toEqual(ub);
    expect(bytesOf(createRng(12346).normal(64)).equals(bytesOf(createRng(12345).normal(64)))).toBe(false);
    expect(bytesOf(createRng(12345).derive(1).normal(64)).equals(bytesOf(createRng(12345).derive(2).normal(64)))).toBe(false);
    // Seeds above 2^32 use their high bits too.
    expect(createRng(2 ** 32 + 5).uint32()).not.toBe(createRng(5).uint32());
  });

  test('the sequence does not depend on how it is chunked', () => {
    const whole = createRng(9).normal(1001);
    const rng = createRng(9);
    const parts = [rng.normal(1), rng.normal(500), rng.normal(0), rng.normal(500)];
    const joined = new Float32Array(1001);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    expect(bytesOf(joined).equals(bytesOf(whole))).toBe(true);
    const filled = createRng(9).fillNormal(new Float32Array(1001));
    expect(bytesOf(filled).equals(bytesOf(whole))).toBe(true);
  });

  test('derived streams depend only on the parent identity and the stream id, not on draws made before', () => {
    const fresh = createRng(77);
    const used = createRng(77);
    used.normal(12_345);
    used.uniform();
    expect(bytesOf(fresh.derive(3).normal(256)).equals(bytesOf(used.derive(3).normal(256)))).toBe(true);
    expect(bytesOf(fresh.derive(3).derive(1).normal(64)).equals(bytesOf(fresh.derive(1).derive(3).normal(64)))).toBe(false);
    expect(bytesOf(fresh.derive(0).normal(64)).equals(bytesOf(fresh.normal(64)))).toBe(false);
  });

  test('a worker thread draws the same bits for the same seed', async () => {
    const [inWorker, derivedInWorker] = await Promise.all([drawInWorker(2024, 50_000, null), drawInWorker(2024, 1000, 17)]);
    expect(bytesOf(inWorker).equals(bytesOf(createRng(2024).normal(50_000)))).toBe(true);
    expect(bytesOf(derivedInWorker).equals(bytesOf(createRng(2024).derive(17).normal(1000)))).toBe(true);
  });

  test('moments of 1e6 normals match N(0, 1) within 5 standard errors', () => {
    // For N iid standard normals the sample mean, variance, skewness and excess kurtosis have standard errors
    // 1/sqrt(N), sqrt(2/N), sqrt(6/N) and sqrt(24/N); 5 standard errors is a two-sided p of about 6e-7 per check.
    const n = 1_000_000;
    const z = createRng(31337).normal(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += z[i]!;
    const mean = sum / n;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let beyond3 = 0;
    for (let i = 0; i < n; i++) {
      const d = z[i]! - mean;
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
      if (abs(z[i]!) > 3) beyond3 += 1;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    const skew = m3 / m2 ** 1.5;
    const excessKurtosis = m4 / (m2 * m2) - 3;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(skew)).toBeLessThan(5 * Math.sqrt(6 / n));
    expect(Math.abs(excessKurtosis)).toBeLessThan(5 * Math.sqrt(24 / n));
    // The tails come from a separate code path (the ziggurat's base strip): P(|z| > 3) = 0.0026998.
    const p = 0.0026997960632601866;
    expect(Math.abs(beyond3 / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    // The extreme values are plausible for 1e6 draws (P(max |z| > 6) is about 2e-3) and finite.
    let largest = 0;
    for (let i = 0; i < n; i++) largest = max(largest, abs(z[i]!));
    expect(largest).toBeGreaterThan(3.5);
    expect(largest).toBeLessThan(6.5);
  });

  test('the normal CDF is matched in 20 equiprobable bins (chi-square)', () => {
    // Bin edges are the 5 %, 10 %, ..., 95 % quantiles of N(0, 1) to 6 digits (standard tables). With 19 degrees of
    // freedom the 0.999 quantile of chi-square is 43.82, so 45.0 fails with p < 0.001.
    const quantiles = [
      -1.644854, -1.281552, -1.036433, -0.841621, -0.674490, -0.524401, -0.385320, -0.253347, -0.125661, 0, 0.125661,
      0.253347, 0.385320, 0.524401, 0.674490, 0.841621, 1.036433, 1.281552, 1.644854,
    ];
    const n = 400_000;
    const z = createRng(4242).normal(n);
    const counts = new Array<number>(20).fill(0);
    for (let i = 0; i < n; i++) {
      let bin = 0;
      while (bin < quantiles.length && z[i]! > quantiles[bin]!) bin++;
      counts[bin]! += 1;
    }
    const expected = n / 20;
    const chiSquare = counts.reduce((acc, count) => acc + (count - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(45.0);
  });

  test('uniforms are in [0, 1) with mean 1/2, variance 1/12 and no lag-1 correlation', () => {
    const n = 1_000_000;
    const rng = createRng(5);
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) u[i] = rng.uniform();
    let sum = 0;
    let lowest = 1;
    let highest = 0;
    for (let i = 0; i < n; i++) {
      sum += u[i]!;
      lowest = min(lowest, u[i]!);
      highest = max(highest, u[i]!);
    }
    const mean = sum / n;
    let variance = 0;
    let lag = 0;
    for (let i = 0; i < n; i++) {
      variance += (u[i]! - mean) ** 2;
      if (i > 0) lag += (u[i]! - mean) * (u[i - 1]! - mean);
    }
    variance /= n;
    const correlation = lag / (n - 1) / variance;
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(highest).toBeLessThan(1);
    // sd of a U(0,1) is sqrt(1/12); sd of the sample variance is sqrt(1/180 / n); lag-1 correlation has sd 1/sqrt(n).
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / n));
    expect(Math.abs(correlation)).toBeLessThan(5 / Math.sqrt(n));
  });

  test('invalid seeds and stream ids are rejected with INVALID_OPTION', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '3' as unknown as number]) {
      let caught: unknown;
      try {
        createRng(bad);
      } catch (error) {
        caught = error;
      }
      expect(isDiffusekitError(caught)).toBe(true);
      expect((caught as { code: string }).code).toBe('INVALID_OPTION');
      expect((caught as Error).message).toMatch(/^Expected a non-negative safe integer for seed but received/);
    }
    expect(() => createRng(1).derive(-2)).toThrow(/for streamId/);
  });
});
