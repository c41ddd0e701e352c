import {
  DiffusekitError,
  Job,
  JobQueue,
  createRuntime,
  invalidOption,
  satisfiesRange,
  throwIfAborted,
  type Plugin,
  type Progress,
  type TaskDefinition,
} from '@diffusekit/core';
import { TEST_MODELS, rejection, thrown } from './helpers.js';

/** A task that runs the tiny model once on a constant image and returns the mean of its output. */
const meanTask: TaskDefinition<number, { level: number }, number> = {
  id: 'mean',
  kind: 'custom',
  description: 'test task',
  defaultModel: 'tiny-ddpm',
  options: [{ name: 'level', type: 'number', description: 'noise level', default: 10 }],
  accepts: (m) => m.task === 'ddpm',
  parseOptions(raw) {
    const level = (raw as { level?: unknown }).level ?? 10;
    if (typeof level !== 'number') throw invalidOption('level', 'a number', level);
    return { level };
  },
  async load({ engine, model }) {
    const session = await engine.openSession(model);
    return {
      model: model.manifest,
      async run(value, options, runOptions) {
        throwIfAborted(runOptions?.signal);
        const out = await session.run({
          x: { data: new Float32Array(3 * 4 * 4).fill(value), dims: [1, 3, 4, 4] },
          noise_level: { data: new Float32Array([options.level]), dims: [1] },
        });
        return out.out!.data.reduce((a, b) => a + b, 0) / out.out!.data.length;
      },
      async dispose() {},
    };
  },
};

const plugin = (overrides: Partial<Plugin> = {}): Plugin => ({ name: 'test-plugin', version: '1.0.0', core: '^0.1.0', tasks: [meanTask], modelFolders: [TEST_MODELS], ...overrides });

describe('runtime', () => {
  it('registers a plugin, finds its task and runs it with validated options', async () => {
    const runtime = createRuntime({ engine: { provider: 'cpu' }, plugins: [plugin()] });
    expect(runtime.tasks.map((t) => t.id)).toEqual(['mean']);
    const task = await runtime.load<number, unknown, number>('mean');
    expect(task.model.manifest.id).toBe('tiny-ddpm');
    const a = await task.run(0.5, { level: 10 });
    const b = await task.run(0.5, { level: 10 });
    expect(a).toBe(b);
    expect(Number.isFinite(a)).toBe(true);
    expect((await rejection(task.run(0.5, { level: 'high' }))).code).toBe('INVALID_OPTION');
    await runtime.close();
  });

  it('reports unknown tasks with the known ones', () => {
    const runtime = createRuntime({ plugins: [plugin()] });
    const error = thrown(() => runtime.task('upscale'));
    expect(error.code).toBe('TASK_NOT_FOUND');
    expect(error.message).toBe('Unknown task "upscale". Should be one of: mean');
  });

  it('refuses name clashes, task clashes, incompatible versions and malformed plugins', () => {
    const runtime = createRuntime({ plugins: [plugin()] });
    expect(thrown(() => runtime.use(plugin())).code).toBe('PLUGIN_NAME_CLASH');
    expect(thrown(() => runtime.use(plugin({ name: 'other' }))).code).toBe('PLUGIN_NAME_CLASH');
    expect(thrown(() => runtime.use(plugin({ name: 'future', tasks: [], core: '^9.0.0' }))).code).toBe('PLUGIN_VERSION_INCOMPATIBLE');
    expect(thrown(() => runtime.use({ name: 'Bad Name', version: 'x', tasks: [{}] } as unknown as Plugin)).code).toBe('PLUGIN_INVALID');
    const { core: _omitted, ...undeclared } = plugin({ name: 'no-core-range', tasks: [] });
    const error = thrown(() => runtime.use(undeclared as Plugin));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toContain('core: expected the range of @diffusekit/core versions');
    expect(runtime.plugins.map((p) => p.name)).toEqual(['test-plugin']);
  });

  it('refuses a model made for another task', async () => {
    const other: TaskDefinition = { ...meanTask, id: 'sr-only', accepts: (m) => m.task === 'sr3' } as TaskDefinition;
    const runtime = createRuntime({ plugins: [plugin({ tasks: [other] })] });
    expect((await rejection(runtime.load('sr-only'))).code).toBe('MODEL_INCOMPATIBLE');
  });
});

describe('version ranges', () => {
  it.each([
    ['0.1.0', '^0.1.0', true],
    ['0.1.5', '^0.1.0', true],
    ['0.2.0', '^0.1.0', false],
    ['1.4.0', '^1.2.0', true],
    ['2.0.0', '^1.2.0', false],
    ['1.0.0', '>=0.9.0', true],
    ['0.8.0', '>=0.9.0', false],
    ['1.2.3', '1.2.3', true],
    ['1.2.3', '*', true],
  ])('%s satisfies %s: %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });
});

describe('jobs', () => {
  const steps = (n: number, gate?: Promise<void>) =>
    async ({ signal, onProgress }: { signal: AbortSignal; onProgress: (p: Progress) => void }): Promise<string> => {
      for (let step = 1; step <= n; step++) {
        if (gate) await gate;
        await new Promise((r) => setImmediate(r));
        throwIfAborted(signal);
        onProgress({ kind: 'step', step, of: n });
      }
      return 'done';
    };

  it('emits status and progress events in order and resolves with the result', async () => {
    const queue = new JobQueue();
    const job = queue.submit('count', steps(3));
    const events: string[] = [];
    job.on((e) => events.push(e.type === 'progress' ? `step ${(e.progress as { step: number }).step}` : e.type === 'status' ? e.status : `done ${e.status}`));
    await expect(job.result()).resolves.toBe('done');
    expect(events).toEqual(['running', 'step 1', 'step 2', 'step 3', 'succeeded', 'done succeeded']);
    expect(queue.get(job.id).status).toBe('succeeded');
  });

  it('stays queued until work that waits elsewhere marks it running (a job handed to a distributed queue)', async () => {
    let pickUp!: () => void;
    const pickedUp = new Promise<void>((r) => (pickUp = r));
    const job = new Job(
      'remote',
      async ({ markRunning, onProgress }) => {
        await pickedUp;
        markRunning();
        onProgress({ kind: 'step', step: 1, of: 1 });
        return 'done';
      },
      { id: 'job-42', startsQueued: true },
    );
    const statuses: string[] = [];
    job.on((e) => e.type === 'status' && statuses.push(e.status));
    void job.start();
    await new Promise((r) => setImmediate(r));
    expect(job.id).toBe('job-42');
    expect(job.status).toBe('queued');
    pickUp();
    await expect(job.result()).resolves.toBe('done');
    expect(statuses).toEqual(['running', 'succeeded']);

    const never = new Job('remote', () => new Promise<string>(() => undefined), { startsQueued: true });
    void never.start();
    never.cancel();
    expect(never.status).toBe('cancelled');
    await expect(never.result()).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('cancels a running job between steps and a queued one before it starts', async () => {
    const queue = new JobQueue({ concurrency: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const running = queue.submit('slow', steps(5, gate));
    const waiting = queue.submit('waiting', steps(1));
    running.cancel();
    waiting.cancel();
    release();
    expect((await rejection(running.result())).code).toBe('ABORTED');
    expect((await rejection(waiting.result())).code).toBe('ABORTED');
    expect(running.status).toBe('cancelled');
    expect(waiting.status).toBe('cancelled');
  });

  it('answers QUEUE_FULL when the bounded queue is full, and keeps serving', async () => {
    const queue = new JobQueue({ concurrency: 1, maxQueued: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = queue.submit('a', steps(1, gate));
    const b = queue.submit('b', steps(1));
    expect(thrown(() => queue.submit('c', steps(1))).code).toBe('QUEUE_FULL');
    release();
    await Promise.all([a.result(), b.result()]);
    await expect(queue.submit('d', steps(1)).result()).resolves.toBe('done');
  });

  it('turns a failure into a coded error and a lookup of an unknown id into JOB_NOT_FOUND', async () => {
    const queue = new JobQueue();
    const job = queue.submit('fails', async () => {
      throw new DiffusekitError('DECODE_FAILED', 'bad image');
    });
    expect((await rejection(job.result())).code).toBe('DECODE_FAILED');
    expect(job.status).toBe('failed');
    expect(thrown(() => queue.get('missing')).code).toBe('JOB_NOT_FOUND');
  });

  it('shuts down: refuses new jobs, cancels waiting ones, lets running ones finish when asked', async () => {
    const queue = new JobQueue({ concurrency: 1 });
    const running = queue.submit('run', steps(2));
    const waiting = queue.submit('wait', steps(2));
    await new Promise<void>((resolve) => running.on((e) => e.type === 'status' && e.status === 'running' && resolve()));
    await queue.shutdown({ finishRunning: true });
    expect(running.status).toBe('succeeded');
    expect(waiting.status).toBe('cancelled');
    expect(thrown(() => queue.submit('late', steps(1))).code).toBe('QUEUE_FULL');
  });
});
