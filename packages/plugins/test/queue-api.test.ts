import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage, isDiffusekitError, type JobEvent, type Runtime } from '@diffusekit/core';
import { connectQueue, startQueueWorker, type DiffusekitQueue, type QueueWorker, type WorkerEvent } from '@diffusekit/plugins';
import { Gate, imageBytes, testRuntime, tinyTask } from './http-helpers.js';
import { OPENSSL_AVAILABLE, describeWithRedis, startTestRedis, type TestRedis } from './redis-helpers.js';

/** Waits (up to 5 s) for a condition that another process or connection makes true. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(condition()).toBe(true);
}

describeWithRedis('distributed job queue (direct API)', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let gate: Gate;
  let store: string;
  let worker: QueueWorker;
  let queue: DiffusekitQueue;
  const events: WorkerEvent[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    gate = new Gate();
    runtime = await testRuntime(gate);
    store = await mkdtemp(path.join(tmpdir(), 'diffusekit-queue-store-'));
    worker = await startQueueWorker(runtime, {
      url: redis.url,
      prefix: redis.prefix,
      store,
      tasks: ['tiny', 'gated', 'broken'],
      concurrency: 2,
      onEvent: (e) => events.push(e),
    });
    queue = await connectQueue({ url: redis.url, prefix: redis.prefix, store, backoffMs: 10, pollIntervalMs: 200 });
  });

  afterAll(async () => {
    await queue?.close();
    await worker?.close({ force: true });
    await runtime?.close();
    await redis?.stop();
  });

  it('runs a job on a worker: queued, running with per-step progress, then the same image as a direct run', async () => {
    const input = await imageBytes('png', 24, 16);
    const job = await queue.submit({ task: 'tiny', model: 'tiny-ddpm', options: { steps: 3 }, input });
    const seen: JobEvent<unknown>[] = [];
    job.on((e) => seen.push(e));
    const result = await job.result();
    expect(job.status).toBe('succeeded');
    expect(seen.filter((e) => e.type === 'status').map((e) => (e as { status: string }).status)).toContain('succeeded');
    expect(seen.some((e) => e.type === 'progress' && e.progress.kind === 'step' && e.progress.step === 3 && e.progress.of === 3)).toBe(true);
    expect(result).toMatchObject({ format: 'png', contentType: 'image/png', width: 24, height: 16, bands: 3, dtype: 'uint8', info: { steps: 3 } });

    const loaded = await runtime.load('tiny');
    const direct = await loaded.run((await decodeImage(input)).raster, { steps: 3 });
    expect(Buffer.from((await decodeImage(result.bytes)).raster.data as Uint8Array)).toEqual(Buffer.from((direct as { raster: { data: Uint8Array } }).raster.data));
    // The client took the result: the store keeps nothing behind.
    expect(await readdir(path.join(store, 'results')).catch(() => [])).toEqual([]);
  });

  it('passes inputs larger than the inline limit through the store and cleans them up', async () => {
    const big = await connectQueue({ url: redis.url, prefix: redis.prefix, store, inlineInputBytes: 0 });
    try {
      const job = await big.submit({ task: 'tiny', model: 'tiny-ddpm', options: { steps: 1 }, input: await imageBytes('png', 16, 16), format: 'jpeg' });
      expect((await readdir(path.join(store, 'inputs'))).length).toBe(1);
      const result = await job.result();
      expect(result.format).toBe('jpeg');
      expect(await readdir(path.join(store, 'inputs'))).toEqual([]);
    } finally {
      await big.close();
    }
  });

  it('fails bad input once with its code, without retrying', async () => {
    const job = await queue.submit({ task: 'tiny', model: 'tiny-ddpm', input: Buffer.from('not an image at all') });
    const error = await job.result().catch((e: unknown) => e);
    expect(isDiffusekitError(error) && error.code).toBe('UNSUPPORTED_FORMAT');
    expect(job.status).toBe('failed');
    expect(events.filter((e) => e.type === 'failed' && e.id === job.id)).toEqual([expect.objectContaining({ attempt: 1, final: true })]);
  });

  it('retries a failing job up to its attempts, then reports it failed with the error code', async () => {
    const job = await queue.submit({ task: 'broken', model: 'tiny-ddpm', input: await imageBytes('png') });
    const error = await job.result().catch((e: unknown) => e);
    expect(isDiffusekitError(error) && error.code).toBe('ENGINE_FAILED');
    const failures = events.filter((e) => e.type === 'failed' && e.id === job.id);
    expect(failures.map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(failures.map((e) => (e as { final: boolean }).final)).toEqual([false, false, true]);
  });

  it('cancels a running job through the queue: its worker stops at the next step', async () => {
    const before = gate.signals.length;
    const job = await queue.submit({ task: 'gated', model: 'tiny-ddpm', options: { steps: 5 }, input: await imageBytes('png') });
    await gate.started(before + 1);
    await until(() => job.status === 'running');
    job.cancel();
    await gate.aborted(before);
    await expect(job.result()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(job.status).toBe('cancelled');
    await until(() => events.some((e) => e.type === 'failed' && e.id === job.id));
    expect(events.filter((e) => e.type === 'failed' && e.id === job.id)).toEqual([expect.objectContaining({ code: 'ABORTED', final: true })]);
  });

  it('answers QUEUE_FULL when too many jobs wait, and removes a cancelled waiting job from the queue', async () => {
    // No worker takes "tiny2" jobs: they wait.
    runtime.use({ name: 'queue-extra', version: '1.0.0', core: '^0.1.0', tasks: [{ ...tinyTask, id: 'tiny2' }] });
    const input = await imageBytes('png');
    const first = await queue.submit({ task: 'tiny2', model: 'tiny-ddpm', input, maxWaiting: 1 });
    await expect(queue.submit({ task: 'tiny2', model: 'tiny-ddpm', input, maxWaiting: 1 })).rejects.toMatchObject({
      code: 'QUEUE_FULL',
      details: { queued: 1, running: 0 },
    });
    expect(first.status).toBe('queued');
    first.cancel();
    expect(first.status).toBe('cancelled');
    let counts = await queue.counts('tiny2');
    for (let i = 0; i < 100 && counts.waiting > 0; i++) counts = (await new Promise((r) => setTimeout(r, 50)), await queue.counts('tiny2'));
    expect(counts).toEqual({ waiting: 0, active: 0 });
  });
});

describeWithRedis('jobs whose workers keep dying', () => {
  it('are run again after the lock lapses, and reported WORKER_FAILED once they have lost too many workers', async () => {
    const redis = await startTestRedis();
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-queue-stall-'));
    const gate = new Gate(); // never opened: every run hangs until its worker is abandoned
    const runtime = await testRuntime(gate);
    const queue = await connectQueue({ url: redis.url, prefix: redis.prefix, store, pollIntervalMs: 200 });
    const workers: QueueWorker[] = [];
    const started = async (): Promise<void> => {
      const worker = await startQueueWorker(runtime, { url: redis.url, prefix: redis.prefix, store, tasks: ['gated'], lockDurationMs: 400, maxStalledCount: 1 });
      workers.push(worker);
    };
    try {
      await started();
      const job = await queue.submit({ task: 'gated', model: 'tiny-ddpm', input: await imageBytes('png') });
      await gate.started(1);
      // Abandon the job as a killed worker would: no more lock renewals, no answer.
      await workers[0]!.close({ force: true });
      await started();
      await gate.started(2); // the next worker found it stalled and ran it again
      expect(job.status).toBe('running');
      await workers[1]!.close({ force: true });
      await started();
      await expect(job.result()).rejects.toMatchObject({ code: 'WORKER_FAILED' });
      expect(gate.signals).toHaveLength(2);
    } finally {
      await queue.close();
      for (const w of workers) await w.close({ force: true });
      await runtime.close();
      await redis.stop();
    }
  }, 30_000);
});

describeWithRedis('queue connection', () => {
  (OPENSSL_AVAILABLE ? it : it.skip)('runs a job over TLS (rediss://) with a password and a private certificate authority', async () => {
    const tls = await startTestRedis({ tls: true, password: 'over-tls-secret' });
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-queue-tls-'));
    const runtime = await testRuntime();
    process.env.DIFFUSEKIT_REDIS_CA = tls.caFile!;
    let worker: QueueWorker | undefined;
    let queue: DiffusekitQueue | undefined;
    try {
      worker = await startQueueWorker(runtime, { url: tls.url, prefix: tls.prefix, store, tasks: ['tiny'] });
      queue = await connectQueue({ url: tls.url, prefix: tls.prefix, store });
      expect(queue.connection.display).toMatch(/^rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+$/);
      const job = await queue.submit({ task: 'tiny', model: 'tiny-ddpm', options: { steps: 1 }, input: await imageBytes('png') });
      await expect(job.result()).resolves.toMatchObject({ format: 'png', width: 16 });
      // Plain text to the TLS port is no Redis at all.
      const plain = await connectQueue({ url: tls.url.replace('rediss:', 'redis:'), connectTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect(plain).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
      expect((plain as Error).message).not.toContain('over-tls-secret');
    } finally {
      delete process.env.DIFFUSEKIT_REDIS_CA;
      await queue?.close();
      await worker?.close({ force: true });
      await runtime.close();
      await tls.stop();
    }
  });

  it('reports an unreachable or refusing Redis as QUEUE_UNAVAILABLE without the password', async () => {
    const secret = 's3cr3t-Pass';
    const guarded = await startTestRedis({ password: 'the-right-one' });
    try {
      const port = new URL(guarded.url).port;
      const error = await connectQueue({ url: `redis://user:${secret}@127.0.0.1:${port}`, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect(isDiffusekitError(error) && error.code).toBe('QUEUE_UNAVAILABLE');
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).toContain('redis://user:***@127.0.0.1');
      const ok = await connectQueue({ url: guarded.url });
      expect(ok.connection.display).toBe(`redis://:***@127.0.0.1:${port}`);
      await ok.close();
    } finally {
      await guarded.stop();
    }
    const closed = await connectQueue({ url: `redis://:${secret}@127.0.0.1:1`, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isDiffusekitError(closed) && closed.code).toBe('QUEUE_UNAVAILABLE');
    expect(String((closed as Error).message)).not.toContain(secret);
  });
});

describeWithRedis('queue across a Redis restart', () => {
  it('keeps queued and running jobs through a restart (append-only file) and finishes each once', async () => {
    const own = await startTestRedis({ ownServer: true });
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-queue-restart-'));
    const runtime = await testRuntime();
    const queue = await connectQueue({ url: own.url, prefix: own.prefix, store, pollIntervalMs: 200 });
    let worker: QueueWorker | undefined;
    try {
      const jobs = await Promise.all([1, 2, 3].map(async (steps) => queue.submit({ task: 'tiny', model: 'tiny-ddpm', options: { steps }, input: await imageBytes('png') })));
      expect(jobs.map((j) => j.status)).toEqual(['queued', 'queued', 'queued']);
      await own.restart!();
      const completed: string[] = [];
      worker = await startQueueWorker(runtime, { url: own.url, prefix: own.prefix, store, tasks: ['tiny'], onEvent: (e) => e.type === 'completed' && completed.push(e.id) });
      const results = await Promise.all(jobs.map((j) => j.result()));
      expect(results.map((r) => r.info)).toEqual([{ steps: 1, note: 'déjà vu' }, { steps: 2, note: 'déjà vu' }, { steps: 3, note: 'déjà vu' }]);
      await until(() => completed.length >= 3);
      expect(completed.sort()).toEqual(jobs.map((j) => j.id).sort());

      // A job running on a worker while Redis restarts finishes too.
      await worker.close();
      const gate = new Gate();
      await runtime.close();
      const gatedRuntime = await testRuntime(gate);
      worker = await startQueueWorker(gatedRuntime, { url: own.url, prefix: own.prefix, store, tasks: ['gated'], onEvent: (e) => e.type === 'completed' && completed.push(e.id) });
      const running = await queue.submit({ task: 'gated', model: 'tiny-ddpm', options: { steps: 2 }, input: await imageBytes('png') });
      await gate.started(1);
      await own.restart!();
      gate.open();
      await expect(running.result()).resolves.toMatchObject({ width: 16, height: 16 });
      await until(() => completed.includes(running.id));
      expect(completed.filter((id) => id === running.id)).toHaveLength(1);
      await worker.close();
      worker = undefined;
      await gatedRuntime.close();
    } finally {
      await queue.close();
      await worker?.close({ force: true });
      await runtime.close();
      await own.stop();
    }
  }, 60_000);
});
