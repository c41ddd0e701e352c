import { mkdtemp } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Runtime } from '@diffusekit/core';
import { connectQueue, startQueueWorker, startServer, type DiffusekitQueue, type QueueWorker, type RunningServer } from '@diffusekit/plugins';
import { Gate, binaryParser, followEvents, imageBytes, testRuntime } from './http-helpers.js';
import { describeWithRedis, startTestRedis, type TestRedis } from './redis-helpers.js';

describeWithRedis('HTTP service on the distributed queue (createRouter(runtime, { queue }))', () => {
  let redis: TestRedis;
  let gate: Gate;
  let workerRuntime: Runtime;
  let serverRuntime: Runtime;
  let worker: QueueWorker;
  let queue: DiffusekitQueue;
  let server: RunningServer;

  beforeAll(async () => {
    redis = await startTestRedis();
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-http-queue-'));
    gate = new Gate();
    // Separate runtimes: the server never runs a model, the worker does.
    workerRuntime = await testRuntime(gate);
    serverRuntime = await testRuntime(new Gate());
    worker = await startQueueWorker(workerRuntime, { url: redis.url, prefix: redis.prefix, store, tasks: ['tiny', 'gated'] });
    queue = await connectQueue({ url: redis.url, prefix: redis.prefix, store, pollIntervalMs: 200 });
    server = await startServer(serverRuntime, { port: 0, signals: false, queue, maxQueued: 1, retryAfterSeconds: 3, onError: () => undefined });
  });

  afterAll(async () => {
    gate.open();
    await server?.close({ timeoutMs: 0 });
    await queue?.close();
    await worker?.close({ force: true });
    await Promise.all([workerRuntime?.close(), serverRuntime?.close()]);
    await redis?.stop();
  });

  it('answers a synchronous request with the worker’s image', async () => {
    const res = await request(server.url).post('/v1/tasks/tiny?steps=2').send(await imageBytes('png', 20, 12)).buffer(true).parse(binaryParser).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-diffusekit-model']).toBe('tiny-ddpm');
    expect(JSON.parse(res.headers['x-diffusekit-info'] as string)).toEqual({ steps: 2, note: 'déjà vu' });
    expect((await request(server.url).get('/v1/health').expect(200)).body.queue).toMatchObject({ backend: 'redis', maxQueued: 1 });
  });

  it('streams a job’s steps over SSE and serves its result, as without the queue', async () => {
    const created = await request(server.url).post('/v1/jobs').field('task', 'tiny').field('steps', '3').attach('image', await imageBytes('png'), 'in.png').expect(202);
    expect(created.body).toMatchObject({ task: 'tiny', model: 'tiny-ddpm' });
    expect(['queued', 'running']).toContain(created.body.status); // a free worker may already have it
    const events = await followEvents(server.url + created.body.links.events, () => undefined);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded', result: { format: 'png', width: 16, height: 16 } } });
    const job = await request(server.url).get(created.body.links.self).expect(200);
    expect(job.body).toMatchObject({ status: 'succeeded', result: { contentType: 'image/png' } });
    expect(job.body.startedAt).not.toBeNull();
    await request(server.url).get(created.body.links.result).expect(200).expect('Content-Type', 'image/png');
  });

  it('answers 429 with Retry-After when the Redis queue is full, and cancels a running job with DELETE', async () => {
    const png = await imageBytes('png');
    const running = await request(server.url).post('/v1/jobs?task=gated&steps=3').send(png).expect(202);
    await gate.started(1);
    const waiting = await request(server.url).post('/v1/jobs?task=gated&steps=1').send(png).expect(202);
    // The worker runs one gated job at a time; the second waits in Redis, so a third is one too many.
    const full = await request(server.url).post('/v1/jobs?task=gated').send(png).expect(429);
    expect(full.headers['retry-after']).toBe('3');
    expect(full.body.code).toBe('QUEUE_FULL');

    const cancelled = await request(server.url).delete(running.body.links.self).expect(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(gate.signals[0]!.aborted).toBe(true);
    const gone = await request(server.url).delete(waiting.body.links.self).expect(200);
    expect(gone.body.status).toBe('cancelled');
    await request(server.url).get(`${running.body.links.self}/result`).expect(409);
  });

  it('cancels the worker’s job when a synchronous client disconnects', async () => {
    const before = gate.signals.length;
    const png = await imageBytes('png');
    const req = httpRequest(`${server.url}/v1/tasks/gated?steps=3`, { method: 'POST', headers: { 'Content-Type': 'image/png', 'Content-Length': png.length } });
    req.on('error', () => undefined);
    req.end(png);
    await gate.started(before + 1);
    req.destroy();
    await gate.aborted(before);
    for (let i = 0; i < 100 && server.router.stats().running + server.router.stats().queued > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.router.stats()).toMatchObject({ backend: 'redis', running: 0, queued: 0 });
  });
});

describeWithRedis('HTTP service when Redis goes away', () => {
  it('answers 503 QUEUE_UNAVAILABLE with Retry-After and keeps serving', async () => {
    const own = await startTestRedis({ ownServer: true });
    const runtime = await testRuntime(new Gate());
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-http-queue-down-'));
    const queue = await connectQueue({ url: own.url, prefix: own.prefix, store });
    const server = await startServer(runtime, { port: 0, signals: false, queue, onError: () => undefined });
    try {
      await own.stop();
      const res = await request(server.url).post('/v1/jobs?task=tiny').send(await imageBytes('png')).expect(503);
      expect(res.body).toEqual({ code: 'QUEUE_UNAVAILABLE', message: 'The job queue is unavailable; retry later' });
      expect(res.headers['retry-after']).toBe('2');
      await request(server.url).get('/v1/health').expect(200);
    } finally {
      await server.close({ timeoutMs: 0 });
      await queue.close();
      await runtime.close();
    }
  });
});

describeWithRedis('several servers on one queue (behind a load balancer)', () => {
  it('answer for each other’s jobs: status, events, result and cancellation', async () => {
    const redis = await startTestRedis();
    const store = await mkdtemp(path.join(tmpdir(), 'diffusekit-http-queue-two-'));
    const gate = new Gate();
    const workerRuntime = await testRuntime(gate);
    const runtimes = [await testRuntime(new Gate()), await testRuntime(new Gate())];
    const worker = await startQueueWorker(workerRuntime, { url: redis.url, prefix: redis.prefix, store, tasks: ['tiny', 'gated'] });
    const queues = await Promise.all(runtimes.map(() => connectQueue({ url: redis.url, prefix: redis.prefix, store, pollIntervalMs: 200 })));
    const [a, b] = await Promise.all(runtimes.map((r, i) => startServer(r, { port: 0, signals: false, queue: queues[i]!, onError: () => undefined })));
    try {
      const created = await request(a!.url).post('/v1/jobs?task=tiny&steps=2').send(await imageBytes('png')).expect(202);
      const events = await followEvents(b!.url + created.body.links.events, () => undefined);
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded', result: { width: 16 } } });
      const seenByB = await request(b!.url).get(created.body.links.self).expect(200);
      expect(seenByB.body).toMatchObject({ id: created.body.id, task: 'tiny', model: 'tiny-ddpm', status: 'succeeded' });
      const [fromA, fromB] = await Promise.all(
        [a!, b!].map((s) => request(s.url).get(created.body.links.result).buffer(true).parse(binaryParser).expect(200)),
      );
      expect(fromB!.body.equals(fromA!.body)).toBe(true);

      const gated = await request(a!.url).post('/v1/jobs?task=gated&steps=3').send(await imageBytes('png')).expect(202);
      await gate.started(1);
      const cancelled = await request(b!.url).delete(gated.body.links.self).expect(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect(gate.signals[0]!.aborted).toBe(true);
      for (let i = 0; i < 100 && (await request(a!.url).get(gated.body.links.self)).body.status !== 'cancelled'; i++) await new Promise((r) => setTimeout(r, 20));
      expect((await request(a!.url).get(gated.body.links.self)).body).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
      await request(b!.url).get('/v1/jobs/00000000-0000-0000-0000-000000000000').expect(404);
    } finally {
      gate.open();
      await Promise.all([a!.close({ timeoutMs: 0 }), b!.close({ timeoutMs: 0 })]);
      await Promise.all(queues.map((q) => q.close()));
      await worker.close({ force: true });
      await Promise.all([workerRuntime, ...runtimes].map((r) => r.close()));
      await redis.stop();
    }
  });
});
