import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage, type ImageTaskResult, type Raster } from '@diffusekit/core';
import { createDefaultRuntime } from '@diffusekit/plugins';
import { REPO_ROOT } from './cli-helpers.js';
import { describeWithRedis, startTestRedis, type TestRedis } from './redis-helpers.js';

const BIN = path.join(REPO_ROOT, 'packages', 'plugins', 'bin', 'diffusekit.js');
const MODELS = path.join(REPO_ROOT, 'test', 'models');
const JOBS = 20;
const STEPS = 6;

/** A CLI process whose stderr lines are collected, with a way to wait for a line. */
class Proc {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  #watchers: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let buffer = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        this.lines.push(line);
        for (const w of [...this.#watchers]) {
          if (w.test(line)) {
            this.#watchers.splice(this.#watchers.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
  }

  waitFor(test: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching line within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`)), timeoutMs);
      this.#watchers.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}

const idsIn = (lines: string[], word: string): string[] =>
  lines.filter((l) => l.startsWith(word)).map((l) => l.split(/\s+/)[1]!);

describeWithRedis('queue end to end: server + 2 worker processes + Redis', () => {
  let redis: TestRedis;
  let folder: string;
  const procs: Proc[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    folder = await mkdtemp(path.join(tmpdir(), 'diffusekit-queue-e2e-'));
  });

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await redis?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it(`runs ${JOBS} jobs with one worker SIGKILLed mid-job: every result present and correct, none completed twice`, async () => {
    const store = path.join(folder, 'store');
    const env = { DIFFUSEKIT_MODELS: MODELS, DIFFUSEKIT_QUEUE_PREFIX: redis.prefix };
    const queueArgs = ['--queue', redis.url, '--store', store];
    const worker = (): Proc => new Proc(['worker', ...queueArgs, '--tasks', 'sr3', '--lock-ms', '1500', '--threads', '1'], env);
    const [victim, survivor] = [worker(), worker()];
    await writeFile(path.join(folder, 'server.json'), JSON.stringify({ maxQueued: 64 }));
    const server = new Proc(['serve', ...queueArgs, '--port', '0', '--config', path.join(folder, 'server.json')], env);
    procs.push(victim, survivor, server);
    await Promise.all([victim, survivor].map((w) => w.waitFor((l) => l.includes('worker ready'))));
    const url = (await server.waitFor((l) => l.includes('serving on'))).match(/http:\/\/\S+/)![0];

    const input = await readFile(path.join(REPO_ROOT, 'test', 'fixtures', 'photo.png'));
    const ids: string[] = [];
    for (let seed = 0; seed < JOBS; seed++) {
      const res = await fetch(`${url}/v1/jobs?task=sr3&model=tiny-sr3-x2&steps=${STEPS}&seed=${seed}`, { method: 'POST', body: input });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }

    // Kill the first worker in the middle of its second job.
    const startedLines = (): string[] => victim.lines.filter((l) => l.startsWith('started'));
    await victim.waitFor(() => startedLines().length >= 2);
    const killedJob = idsIn(startedLines(), 'started').at(-1)!;
    await victim.stop('SIGKILL');
    expect(idsIn(victim.lines, 'completed')).not.toContain(killedJob);

    const results = new Map<string, Buffer>();
    const deadline = Date.now() + 90_000;
    while (results.size < JOBS && Date.now() < deadline) {
      for (const id of ids.filter((i) => !results.has(i))) {
        const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { status: string; error?: unknown };
        expect(['queued', 'running', 'succeeded']).toContain(job.status);
        if (job.status === 'succeeded') results.set(id, Buffer.from(await (await fetch(`${url}/v1/jobs/${id}/result`)).arrayBuffer()));
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(results.size).toBe(JOBS);

    // Each job completed exactly once, across both workers; the killed one by the survivor.
    const allCompleted = (): string[] => [...idsIn(victim.lines, 'completed'), ...idsIn(survivor.lines, 'completed')];
    // A worker logs "completed" just after Redis has the result, so the last line may trail the server's answer a little.
    for (let i = 0; i < 100 && allCompleted().length < JOBS; i++) await new Promise((r) => setTimeout(r, 50));
    const completed = allCompleted();
    expect([...completed].sort()).toEqual([...ids].sort());
    expect(idsIn(survivor.lines, 'completed')).toContain(killedJob);

    // The same pixels as running the task directly in this process.
    const runtime = createDefaultRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [MODELS] });
    try {
      const task = await runtime.load<Raster, unknown, ImageTaskResult>('sr3', { model: 'tiny-sr3-x2' });
      const raster = (await decodeImage(input)).raster;
      for (const [seed, id] of ids.entries()) {
        const direct = await task.run(raster, { steps: STEPS, seed });
        const queued = (await decodeImage(results.get(id)!)).raster;
        expect([queued.width, queued.height, queued.bands]).toEqual([direct.raster.width, direct.raster.height, direct.raster.bands]);
        expect(Buffer.from(queued.data as Uint8Array).equals(Buffer.from(direct.raster.data as Uint8Array))).toBe(true);
      }
    } finally {
      await runtime.close();
    }
  }, 180_000);
});
