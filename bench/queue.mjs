// Distributed queue (BullMQ on Redis): what a job costs on the queue against the in-process queue, and throughput with
// one and two `diffusekit worker` processes on this machine. Tiny committed model (tiny-sr3-x2, 96x64 photo, x2).
// Starts its own redis-server on 127.0.0.1 (nothing saved) unless DIFFUSEKIT_BENCH_REDIS_URL names one.
// Usage: node bench/queue.mjs [--jobs 40] [--latency-jobs 20] [--repeats 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { arg, fmt, median, table } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const MODELS = path.join(root, 'test', 'models');
const BIN = path.join(root, 'packages', 'plugins', 'bin', 'diffusekit.js');
const JOBS = Number(arg('jobs', '40'));
const LATENCY_JOBS = Number(arg('latency-jobs', '20'));
const REPEATS = Number(arg('repeats', '3'));
const STEP_COUNTS = [1, 8];
const LOAD = os.loadavg().map((l) => l.toFixed(1)).join(' / ');

process.env.DIFFUSEKIT_MODELS = MODELS;
const { JobQueue, decodeImage, encodeImage } = await import('@diffusekit/core');
const { connectQueue, createDefaultRuntime } = await import('@diffusekit/plugins');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startRedis(dir) {
  if (process.env.DIFFUSEKIT_BENCH_REDIS_URL) return { url: process.env.DIFFUSEKIT_BENCH_REDIS_URL, stop: async () => undefined };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('bench/queue.mjs needs redis-server (apt-get install redis-server)');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await sleep(50);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A worker process; resolves once it reports ready. */
async function startWorker(url, store, prefix) {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--store', store, '--tasks', 'sr3', '--threads', '1'], {
    env: { ...process.env, DIFFUSEKIT_QUEUE_PREFIX: prefix },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => {
      text += c;
      if (text.includes('worker ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${text}`)));
  });
  return {
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const input = await readFile(path.join(root, 'test', 'fixtures', 'photo.png'));
const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-bench-queue-'));
const redis = await startRedis(dir);
const store = path.join(dir, 'store');

// In-process: the HTTP service's path without HTTP (decode, run, encode as one job of a JobQueue).
const runtime = createDefaultRuntime({ engine: { provider: 'cpu', threads: 1, workers: 1 }, modelFolders: [MODELS] });
const task = await runtime.load('sr3', { model: 'tiny-sr3-x2' });
const local = new JobQueue({ concurrency: 1, maxQueued: 10_000, keepFinished: 0 });
const localJob = (steps, seed) =>
  local.submit('sr3', async ({ signal, onProgress }) => {
    const { raster } = await decodeImage(input);
    const out = await task.run(raster, { steps, seed }, { signal, onProgress });
    return encodeImage(out.raster, { format: 'png' });
  });

const prefix = `bench${Date.now().toString(36)}`;
const queue = await connectQueue({ url: redis.url, store, prefix });
const queuedJob = (steps, seed) => queue.submit({ task: 'sr3', model: 'tiny-sr3-x2', options: { steps, seed }, input, format: 'png' });

/**
 * Latency of one job at a time, in-process and on the queue alternately (so that both see the same background load
 * on this shared machine); the overhead is the median of the paired differences.
 */
async function pairedLatency(steps) {
  for (let i = 0; i < 3; i++) {
    await (await localJob(steps, i)).result(); // warm-up: model load, JIT, connections
    await (await queuedJob(steps, i)).result();
  }
  const local = [];
  const queued = [];
  const timed = async (run, i) => {
    const t0 = performance.now();
    await (await run(steps, i)).result();
    return performance.now() - t0;
  };
  for (let i = 0; i < LATENCY_JOBS; i++) {
    local.push(await timed(localJob, i));
    queued.push(await timed(queuedJob, i));
  }
  return { localMs: median(local), queueMs: median(queued), overheadMs: median(queued.map((q, i) => q - local[i])) };
}

async function throughput(run, steps) {
  const rates = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const jobs = [];
    for (let i = 0; i < JOBS; i++) jobs.push(await run(steps, i));
    await Promise.all(jobs.map((j) => j.result()));
    rates.push(JOBS / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

const rows = [];
try {
  const workers = [await startWorker(redis.url, store, prefix)];
  const results = {};
  for (const steps of STEP_COUNTS) {
    const paired = await pairedLatency(steps);
    const localRate = await throughput(localJob, steps);
    const oneRate = await throughput(queuedJob, steps);
    results[steps] = { ...paired, localRate, oneRate };
  }
  workers.push(await startWorker(redis.url, store, prefix));
  for (const steps of STEP_COUNTS) {
    for (let i = 0; i < 4; i++) await Promise.all([(await queuedJob(steps, i)).result(), (await queuedJob(steps, i)).result()]); // warms the second worker
    results[steps].twoRate = await throughput(queuedJob, steps);
  }
  for (const steps of STEP_COUNTS) {
    const r = results[steps];
    rows.push([
      String(steps),
      fmt(r.localMs),
      fmt(r.queueMs),
      fmt(r.overheadMs),
      fmt(r.localRate, 2),
      fmt(r.oneRate, 2),
      fmt(r.twoRate, 2),
    ]);
  }
  for (const w of workers) await w.stop();
} finally {
  await queue.close();
  await local.shutdown();
  await runtime.close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}

process.stdout.write(`## Distributed queue (BullMQ on Redis)

\`node bench/queue.mjs\`: one job = decode a 96x64 PNG, the tiny committed SR model (tiny-sr3-x2, x2) for the given
steps, encode a PNG. Latency: one job at a time, from submit to result in hand, in-process and queued jobs
alternating, median of ${LATENCY_JOBS} each after 3 warm-up jobs; the overhead is the median of the paired
differences. Throughput: ${JOBS} jobs submitted at once, median of ${REPEATS} rounds. In-process: a \`JobQueue\` of
concurrency 1 in this process (the HTTP service's path without HTTP). Queue: \`connectQueue\` in this process, a local
redis-server, \`diffusekit worker --threads 1\` processes, results through a folder store, inputs inline in Redis.
Load average when it started: ${LOAD}.

${table(
  ['steps', 'in-process ms/job', 'queue ms/job', 'queue overhead ms/job', 'in-process jobs/s', 'queue, 1 worker jobs/s', 'queue, 2 workers jobs/s'],
  rows,
)}

The overhead column is the queue's own cost per job: Redis round trips (add, lock, progress events per step,
completion), the event stream back to the client, and the result written to and read from the store. Two worker
processes on this 2-core machine share the cores with the client, Redis and anything else running, so their
throughput is bounded by the machine, not by the queue; on separate machines workers add up.
`);
