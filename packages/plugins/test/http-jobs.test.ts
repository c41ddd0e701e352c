import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import request from 'supertest';
import type { Runtime } from '@diffusekit/core';
import { startServer, type RunningServer, type ServerOptions } from '@diffusekit/plugins';
import { Gate, binaryParser, followEvents, imageBytes, parseSse, testApp, testRuntime, type SseEvent } from './http-helpers.js';

let gate: Gate;
let runtime: Runtime;
let server: RunningServer | undefined;

async function serve(options: ServerOptions = {}): Promise<RunningServer> {
  server = await startServer(runtime, { port: 0, signals: false, onError: () => undefined, ...options });
  return server;
}

beforeEach(async () => {
  gate = new Gate();
  runtime = await testRuntime(gate);
});

afterEach(async () => {
  gate.open();
  await server?.close({ timeoutMs: 0 });
  server = undefined;
  await runtime.close();
});

/** Lets pending callbacks run, up to `rounds` event-loop turns, until `condition` holds. */
async function settle(condition: () => boolean, rounds = 1000): Promise<void> {
  for (let i = 0; i < rounds && !condition(); i++) await new Promise((r) => setImmediate(r));
  expect(condition()).toBe(true);
}

const summary = (events: SseEvent[]) =>
  events.map(({ event, data }) => {
    const d = data as Record<string, unknown> & { kind?: string };
    if (event === 'status') return `status ${String(d.status)}`;
    if (event === 'progress') return d.kind === 'stage' ? `stage ${String(d.stage)}` : `${d.kind} ${String(d[d.kind!])}/${String(d.of)}`;
    return `done ${String(d.status)}`;
  });

describe('background jobs', () => {
  it('runs a job, streams its steps, and serves the same result as the synchronous route', async () => {
    const { url } = await serve({ concurrency: 1 });
    const png = await imageBytes('png');
    // A gated job holds the one slot, so the job under test waits until its event stream is open (on a busy machine
    // it could otherwise finish before the client subscribes, and only `done` would be replayed).
    await request(url).post('/v1/jobs?task=gated&steps=1').send(png).expect(202);
    await gate.started(1);
    const created = await request(url).post('/v1/jobs').field('task', 'tiny').field('steps', '3').attach('image', png, 'in.png').expect(202);
    expect(created.body).toMatchObject({ task: 'tiny', model: 'tiny-ddpm', status: 'queued', progress: null, finishedAt: null });
    expect(created.headers.location).toBe(`/v1/jobs/${created.body.id}`);
    const events = await followEvents(url + created.body.links.events, (e) => e.event === 'status' && gate.open());
    const steps = summary(events).filter((e) => e.startsWith('step'));
    expect(steps).toEqual(['step 1/3', 'step 2/3', 'step 3/3']);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toMatchObject({ status: 'succeeded', result: { url: created.body.links.result, format: 'png', width: 16, height: 16, bands: 3 } });

    const job = await request(url).get(created.body.links.self).expect(200);
    expect(job.body).toMatchObject({ status: 'succeeded', progress: { kind: 'stage', stage: 'encode' }, result: { contentType: 'image/png' } });
    expect(Date.parse(job.body.finishedAt)).toBeGreaterThanOrEqual(Date.parse(job.body.startedAt));
    const result = await request(url).get(created.body.links.result).buffer(true).parse(binaryParser).expect(200);
    expect(result.headers['content-type']).toBe('image/png');
    expect(job.body.result.bytes).toBe(result.body.length);
    const direct = await request(url).post('/v1/tasks/tiny?steps=3').send(png).buffer(true).parse(binaryParser).expect(200);
    expect(result.body.equals(direct.body)).toBe(true);
  });

  it('sends status, progress and done in order, and replays the current state to late subscribers', async () => {
    const { url } = await serve();
    const created = await request(url).post('/v1/jobs?task=gated&steps=2').send(await imageBytes('png')).expect(202);
    await gate.started(1);
    let replayed!: () => void;
    const replay = new Promise<void>((r) => (replayed = r));
    const live = followEvents(url + created.body.links.events, (e) => e.event === 'progress' && replayed());
    await replay;
    gate.open();
    expect(summary(await live)).toEqual(['status running', 'stage infer', 'tile 1/2', 'tile 2/2', 'stage encode', 'status succeeded', 'done succeeded']);
    const late = await followEvents(url + created.body.links.events, () => undefined);
    expect(summary(late)).toEqual(['status succeeded', 'stage encode', 'done succeeded']);
  });

  it('cancels a running job with DELETE; its result then answers 409 ABORTED', async () => {
    const { url } = await serve();
    const created = await request(url).post('/v1/jobs?task=gated').send(await imageBytes('png')).expect(202);
    await gate.started(1);
    const early = await request(url).get(created.body.links.result).expect(409);
    expect(early.body.code).toBe('JOB_NOT_FINISHED');
    expect(early.headers['retry-after']).toBe('2');
    const cancelled = await request(url).delete(created.body.links.self).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
    await gate.aborted(0);
    const result = await request(url).get(created.body.links.result).expect(409);
    expect(result.body).toEqual({ code: 'ABORTED', message: `Job ${created.body.id} was cancelled; it has no result` });
    const events = await followEvents(url + created.body.links.events, () => undefined);
    expect(summary(events)).toEqual(['status cancelled', 'stage infer', 'done cancelled']);
    expect((events.at(-1)!.data as { error: { code: string } }).error.code).toBe('ABORTED');
    await request(url).delete(created.body.links.self).expect(200); // a finished job stays as it is
  });

  it('cancels a queued job before it ever runs', async () => {
    const { url } = await serve({ concurrency: 1 });
    const running = await request(url).post('/v1/jobs?task=gated').send(await imageBytes('png')).expect(202);
    await gate.started(1);
    const queued = await request(url).post('/v1/jobs?task=gated').send(await imageBytes('png')).expect(202);
    expect((await request(url).get(queued.body.links.self)).body.status).toBe('queued');
    expect((await request(url).delete(queued.body.links.self).expect(200)).body.status).toBe('cancelled');
    gate.open();
    const done = await followEvents(url + running.body.links.events, () => undefined);
    expect(summary(done).at(-1)).toBe('done succeeded');
    expect(gate.signals).toHaveLength(1);
  });

  it('reports a failed job with its error code; its result answers with that error', async () => {
    const { url } = await serve();
    const twoBands = await request(url).post('/v1/jobs?task=tiny').send(await imageBytes('png', 16, 16, 2)).expect(202);
    const events = await followEvents(url + twoBands.body.links.events, () => undefined);
    expect(events.at(-1)!.data).toMatchObject({ status: 'failed', error: { code: 'BAND_SELECTION_INVALID' } });
    expect((await request(url).get(twoBands.body.links.result).expect(400)).body.code).toBe('BAND_SELECTION_INVALID');
    expect((await request(url).get(twoBands.body.links.self)).body).toMatchObject({ status: 'failed', error: { code: 'BAND_SELECTION_INVALID' } });

    const broken = await request(url).post('/v1/jobs?task=broken').send(await imageBytes('png')).expect(202);
    const brokenEvents = await followEvents(url + broken.body.links.events, () => undefined);
    expect(brokenEvents.at(-1)!.data).toEqual({ status: 'failed', error: { code: 'ENGINE_FAILED', message: 'The server could not complete the request (ENGINE_FAILED)' } });
    const result = await request(url).get(broken.body.links.result).expect(500);
    expect(result.text).not.toContain('secret');
  });

  it('checks a job request at once, before queueing it', async () => {
    const { url } = await serve();
    const png = await imageBytes('png');
    const noTask = await request(url).post('/v1/jobs').send(png).expect(400);
    expect(noTask.body.message).toBe('Expected a task id (one of tiny, gated, broken, orphan) in the field or query parameter "task"');
    expect((await request(url).post('/v1/jobs?task=nope').send(png).expect(404)).body.code).toBe('TASK_NOT_FOUND');
    expect((await request(url).post('/v1/jobs?task=tiny&steps=0').send(png).expect(400)).body.code).toBe('INVALID_OPTION');
    expect((await request(url).post('/v1/jobs?task=tiny').send('GIF89a').expect(415)).body.code).toBe('UNSUPPORTED_FORMAT');
    expect((await request(url).get('/v1/health')).body.jobsKept).toBe(0);
  });

  it('answers JOB_NOT_FOUND (404) for unknown ids on every job route', async () => {
    const { url } = await serve();
    for (const [method, path] of [
      ['get', '/v1/jobs/nope'],
      ['delete', '/v1/jobs/nope'],
      ['get', '/v1/jobs/nope/events'],
      ['get', '/v1/jobs/nope/result'],
    ] as const) {
      const res = await request(url)[method](path).expect(404);
      expect(res.body).toEqual({ code: 'JOB_NOT_FOUND', message: expect.stringContaining('No job with id "nope"'), details: { id: 'nope' } });
    }
  });
});

describe('load limits', () => {
  it('answers 429 QUEUE_FULL with Retry-After when a queue of size 1 is full, on both routes, then recovers', async () => {
    const { url } = await serve({ concurrency: 1, maxQueued: 1, retryAfterSeconds: 3 });
    const png = await imageBytes('png');
    const first = request(url).post('/v1/tasks/gated').send(png).then((r) => r);
    await gate.started(1);
    const queued = await request(url).post('/v1/jobs?task=gated').send(png).expect(202);
    const refused = await request(url).post('/v1/tasks/gated').send(png).expect(429);
    expect(refused.headers['retry-after']).toBe('3');
    expect(refused.body.code).toBe('QUEUE_FULL');
    expect((await request(url).post('/v1/jobs?task=gated').send(png).expect(429)).headers['retry-after']).toBe('3');
    expect((await request(url).get('/v1/health').expect(200)).body.queue).toEqual({ backend: 'memory', running: 1, queued: 1, concurrency: 1, maxQueued: 1 });
    gate.open();
    expect((await first).status).toBe(200);
    expect(summary(await followEvents(url + queued.body.links.events, () => undefined)).at(-1)).toBe('done succeeded');
    await request(url).post('/v1/tasks/gated').send(png).expect(200);
  });

  it('answers 413 to a body declared too large and keeps the connection usable', async () => {
    const { url } = await serve({ maxBodyBytes: 1000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`${url}/v1/tasks/tiny`, { method: 'POST', agent, headers: { 'Content-Type': 'image/png', 'Content-Length': body.length } }, (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await send(Buffer.alloc(200_000, 7))).toEqual({ status: 413, reused: false });
    expect(await send(await imageBytes('png', 8, 8))).toEqual({ status: 200, reused: true });
    agent.destroy();
  });

  it('stops reading a chunked body at the byte limit and answers 413', async () => {
    const { url } = await serve({ maxBodyBytes: 1000 });
    const res = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/tasks/tiny`, { method: 'POST', headers: { 'Content-Type': 'image/png', 'Transfer-Encoding': 'chunked' } }, (r: IncomingMessage) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => {
          req.destroy();
          resolve({ status: r.statusCode!, body, connection: r.headers.connection });
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(600, 1));
      req.write(Buffer.alloc(600, 2)); // over the limit; the body is never ended
    });
    expect(res.status).toBe(413);
    expect(res.connection).toBe('close');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});

describe('client disconnects', () => {
  it('cancel the synchronous work of that client and free its slot', async () => {
    const { url, router } = await serve({ concurrency: 1, maxQueued: 0 });
    const png = await imageBytes('png');
    const req = httpRequest(`${url}/v1/tasks/gated`, { method: 'POST', headers: { 'Content-Type': 'image/png', 'Content-Length': png.length } });
    req.on('error', () => undefined);
    req.end(png);
    await gate.started(1);
    req.destroy();
    await gate.aborted(0);
    await settle(() => router.stats().running === 0);
    gate.open();
    await request(url).post('/v1/tasks/gated').send(png).expect(200);
  });

  it('mid-upload leave no job and no work behind', async () => {
    const { url, router } = await serve({ concurrency: 1, maxQueued: 0 });
    const png = await imageBytes('png');
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${url}/v1/jobs?task=gated`, { method: 'POST', headers: { 'Content-Type': 'image/png', 'Content-Length': 100_000 } });
      req.on('error', () => undefined);
      req.write(png, () => {
        req.destroy();
        resolve();
      });
    });
    gate.open();
    // Whatever the server had read, it holds no job for it and still has its one slot free.
    await request(url).post('/v1/tasks/gated').send(png).expect(200);
    expect(router.stats()).toMatchObject({ running: 0, queued: 0, jobsKept: 0 });
  });
});

describe('shutdown', () => {
  it('drains: refuses new work (503), cancels queued jobs, finishes running ones and keeps finished results', async () => {
    const { app, router } = testApp(runtime, { concurrency: 1, retryAfterSeconds: 5 });
    const png = await imageBytes('png');
    const finished = await request(app).post('/v1/jobs?task=tiny').send(png).expect(202);
    expect(parseSse((await request(app).get(finished.body.links.events)).text).at(-1)!.event).toBe('done');
    const running = await request(app).post('/v1/jobs?task=gated').send(png).expect(202);
    await gate.started(1);
    const queued = await request(app).post('/v1/jobs?task=gated').send(png).expect(202);

    const drained = router.drain({ timeoutMs: 60_000 });
    expect((await request(app).get(queued.body.links.self)).body.status).toBe('cancelled');
    expect((await request(app).get('/v1/health').expect(503)).body.status).toBe('draining');
    const refused = await request(app).post('/v1/tasks/tiny').send(png).expect(503);
    expect(refused.body.code).toBe('QUEUE_FULL');
    expect(refused.headers['retry-after']).toBe('5');
    gate.open();
    await drained;
    expect((await request(app).get(running.body.links.self)).body.status).toBe('succeeded');
    await request(app).get(running.body.links.result).expect(200);
    await request(app).get(finished.body.links.result).expect(200);
    expect(gate.signals).toHaveLength(1);
  });

  it('close() lets an answer in flight finish, then stops the server', async () => {
    const { url } = await serve();
    const inFlight = request(url).post('/v1/tasks/gated').send(await imageBytes('png')).then((r) => r);
    await gate.started(1);
    const closing = server!.close({ timeoutMs: 60_000 });
    gate.open();
    expect((await inFlight).status).toBe(200);
    await closing;
    await server!.closed;
    expect(server!.server.listening).toBe(false);
  });

  it('close() cancels running work once its timeout has passed', async () => {
    const { url } = await serve();
    await request(url).post('/v1/jobs?task=gated').send(await imageBytes('png')).expect(202);
    await gate.started(1);
    await server!.close({ timeoutMs: 0 });
    await gate.aborted(0);
  });

  it('starts the graceful shutdown on a signal and removes its handlers afterwards', async () => {
    const before = process.listenerCount('SIGUSR2');
    await serve({ signals: ['SIGUSR2'] });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    await server!.closed;
    expect(server!.server.listening).toBe(false);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
