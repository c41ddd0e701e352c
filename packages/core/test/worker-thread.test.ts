import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createScheduler, readImageFile, runSampler } from '@diffusekit/core';
import { REPO_ROOT } from './helpers.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

/** Runs `body` (an async function's source taking the imported package) in a fresh worker thread without workerData. */
function inWorker<T>(body: string): Promise<T> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import('@diffusekit/core')
      .then((core) => (${body})(core))
      .then((result) => parentPort.postMessage({ result }), (error) => parentPort.postMessage({ error: String(error && error.stack || error) }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', (message: { result?: T; error?: string }) => {
      void worker.terminate();
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.result as T);
    });
    worker.once('error', reject);
  });
}

// The same source runs in the worker and here: a sampler run with noise at every step (DDPM), tiled, two tiles per call.
const SAMPLE = `async ({ createScheduler, runSampler }) => {
  const scheduler = createScheduler({ sampler: 'ddpm', prediction: 'eps', schedule: { kind: 'cosine', trainSteps: 1000 } });
  scheduler.setTimesteps(12);
  const model = async (batch) => {
    const out = new Float32Array(batch.x.length);
    for (let i = 0; i < out.length; i++) out[i] = 0.4 * batch.x[i] + 0.001 * batch.noiseLevel;
    return out;
  };
  return runSampler({ scheduler, model, shape: { channels: 3, height: 40, width: 56 }, seed: 11, noiseInput: 'timestep',
    tiling: { tile: 32, overlap: 8, multipleOf: 8, tilesPerCall: 2 } });
}`;

describe('worker threads', () => {
  it('load the package and decode a GeoTIFF in a worker started without workerData', async () => {
    const file = path.join(FIXTURES, 'l7etm-crop.tif');
    const inside = await inWorker<[number, number, number, number | undefined]>(
      `async ({ readImageFile }) => { const { raster } = await readImageFile(${JSON.stringify(file)}); return [raster.width, raster.height, raster.bands, raster.geo?.epsg]; }`,
    );
    const { raster } = await readImageFile(file);
    expect(inside).toEqual([raster.width, raster.height, raster.bands, raster.geo?.epsg]);
  });

  it('give a sampler run the same bits as the main thread for the same seed', async () => {
    const run = (0, eval)(`(${SAMPLE})`) as (core: { createScheduler: typeof createScheduler; runSampler: typeof runSampler }) => Promise<Float32Array>;
    const here = await run({ createScheduler, runSampler });
    const again = await run({ createScheduler, runSampler });
    const there = await inWorker<Float32Array>(SAMPLE);
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(here.length).toBe(3 * 40 * 56);
    expect(bytes(again).equals(bytes(here))).toBe(true);
    expect(bytes(new Float32Array(there)).equals(bytes(here))).toBe(true);
  });
});
