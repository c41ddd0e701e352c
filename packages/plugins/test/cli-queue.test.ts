import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFile, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime, startQueueWorker, type QueueWorker } from '@diffusekit/plugins';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';
import { describeWithRedis, startTestRedis, type TestRedis } from './redis-helpers.js';
import { fourDNifti } from './medical-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-sr3-x2', '--steps', '2', '--threads', '1'];
const tmp = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'diffusekit-cli-queue-'));

describe('queue flags', () => {
  it('are checked as usage errors', async () => {
    expect((await cli('worker')).code).toBe(2);
    expect((await cli('worker')).stderr).toContain('needs --queue');
    const grid = await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', await tmp(), '--grid', '32', '--queue', 'redis://127.0.0.1:1');
    expect(grid.code).toBe(2);
    expect(grid.stderr).toContain('--queue does not take --grid');
    expect((await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', await tmp(), '--store', '/tmp/x')).stderr).toContain('--store goes with --queue');
    const ensembles = await cli('serve', '--queue', 'redis://127.0.0.1:1', '--ensembles', await tmp());
    expect(ensembles.code).toBe(2);
    expect(ensembles.stderr).toContain('does not run on queue workers yet');
  });

  it('never prints the Redis password', async () => {
    const failed = await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', await tmp(), ...MODEL, '--queue', 'redis://someone:pa55word@127.0.0.1:1');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('QUEUE_UNAVAILABLE');
    expect(failed.stderr).toContain('redis://someone:***@127.0.0.1:1');
    expect(failed.stderr).not.toContain('pa55word');
    const badUrl = await cli('worker', '--queue', 'http://user:pa55word@host');
    expect(badUrl.stderr).not.toContain('pa55word');
    expect(badUrl.code).toBe(1);
  });
});

describeWithRedis('diffusekit upscale --queue', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let worker: QueueWorker;
  let store: string;
  let queueArgs: string[];

  beforeAll(async () => {
    redis = await startTestRedis();
    process.env.DIFFUSEKIT_QUEUE_PREFIX = redis.prefix;
    store = await tmp();
    runtime = createDefaultRuntime({ engine: { provider: 'cpu', threads: 1, workers: 1 }, modelFolders: [path.join(REPO_ROOT, 'test', 'models')] });
    worker = await startQueueWorker(runtime, { url: redis.url, prefix: redis.prefix, store, tasks: ['sr3', 'palette-jpeg'] });
    queueArgs = ['--queue', redis.url, '--store', store];
  });

  afterAll(async () => {
    delete process.env.DIFFUSEKIT_QUEUE_PREFIX;
    await worker?.close({ force: true });
    await runtime?.close();
    await redis?.stop();
  });

  it('runs a folder on the workers with the same outputs, events, resume and exit codes as a local batch', async () => {
    const inputs = await tmp();
    await mkdir(path.join(inputs, 'sub'));
    await copyFile(path.join(FIXTURES, 'photo.png'), path.join(inputs, 'a.png'));
    await copyFile(path.join(FIXTURES, 'photo.jpg'), path.join(inputs, 'sub', 'b.jpg'));
    const [local, queued] = [await tmp(), await tmp()];
    expect((await cli('upscale', inputs, '-o', local, ...MODEL)).code).toBe(0);
    const run = await cli('upscale', inputs, '-o', queued, ...MODEL, ...queueArgs, '--json');
    expect(run.code).toBe(0);
    const events = jsonLines(run.stdout);
    expect(events.filter((e) => e.type === 'file-done')).toHaveLength(2);
    expect(events.some((e) => e.type === 'progress' && (e.progress as { kind: string }).kind === 'step')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'summary', total: 2, succeeded: 2, failed: 0 });
    for (const file of ['a.png', path.join('sub', 'b.jpg')]) {
      const [l, q] = [await readImageFile(path.join(local, file)), await readImageFile(path.join(queued, file))];
      expect(q.format).toBe(l.format);
      expect([q.raster.width, q.raster.height]).toEqual([l.raster.width, l.raster.height]);
      if (l.format === 'png') expect(Buffer.from(q.raster.data as Uint8Array).equals(Buffer.from(l.raster.data as Uint8Array))).toBe(true);
    }

    await writeFile(path.join(inputs, 'broken.png'), Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'binary'), Buffer.alloc(40)]));
    const resumed = await cli('upscale', inputs, '-o', queued, ...MODEL, ...queueArgs, '--resume');
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/skip .*a\.png/);
    expect(resumed.stderr).toMatch(/FAIL .*broken\.png: DECODE_FAILED/);
    expect(resumed.stderr).toContain('Done: 0 succeeded, 1 failed, 2 skipped of 3');
    expect((await readdir(queued)).sort()).toEqual(['a.png', 'sub']);
    expect(await readdir(path.join(store, 'results'))).toEqual([]);
  });

  it('restores JPEGs on the workers too', async () => {
    const out = await tmp();
    const run = await cli('restore', path.join(FIXTURES, 'photo.jpg'), '-o', path.join(out, 'clean.png'), '--model', 'tiny-palette-jpeg', '--steps', '2', ...queueArgs);
    expect(run.stderr).toContain('Done: 1 succeeded, 0 failed');
    expect(run.code).toBe(0);
    const { format, raster } = await readImageFile(path.join(out, 'clean.png'));
    expect([format, raster.width, raster.height]).toEqual(['png', 96, 64]);
  });

  it('sends a NIfTI volume whole and gets the volume a local run writes; a DICOM series folder is refused', async () => {
    const volume = path.join(FIXTURES, 'medical', 'ch2-small.nii.gz');
    const [local, queued] = [await tmp(), await tmp()];
    expect((await cli('upscale', volume, '-o', local, ...MODEL)).code).toBe(0);
    const run = await cli('upscale', volume, '-o', queued, ...MODEL, ...queueArgs);
    expect(run.stderr).toContain('Done: 1 succeeded, 0 failed');
    const [l, q] = [await readImageFile(path.join(local, 'ch2-small.nii.gz')), await readImageFile(path.join(queued, 'ch2-small.nii.gz'))];
    expect(q.format).toBe('nifti');
    expect([q.volume?.width, q.volume?.height, q.volume?.depth]).toEqual([l.volume?.width, l.volume?.height, l.volume?.depth]);
    expect(q.volume!.depth).toBe(45);
    expect(Buffer.from(q.volume!.data.buffer).equals(Buffer.from(l.volume!.data.buffer))).toBe(true);
    expect(q.volume!.medical.spacing).toEqual(l.volume!.medical.spacing);

    const series = await cli('upscale', path.join(FIXTURES, 'medical', 'brain-series'), '-o', await tmp(), ...MODEL, ...queueArgs);
    expect(series.code).toBe(2);
    expect(series.stderr).toContain('DICOM series folder');
  });

  it('runs the volume --volume names of a 4-D NIfTI on the workers, and fails that file alone without one', async () => {
    const dir = await tmp();
    const input = path.join(dir, 'bold.nii.gz');
    await writeFile(input, fourDNifti().fourD);
    const [local, queued] = [await tmp(), await tmp()];
    expect((await cli('upscale', input, '-o', local, '--volume', '1', ...MODEL)).code).toBe(0);
    expect((await cli('upscale', input, '-o', queued, '--volume', '1', ...MODEL, ...queueArgs)).code).toBe(0);
    const [l, q] = [(await readImageFile(path.join(local, 'bold.nii.gz'))).volume!, (await readImageFile(path.join(queued, 'bold.nii.gz'))).volume!];
    expect([q.width, q.height, q.depth]).toEqual([90, 108, 6]);
    expect(Buffer.from(q.data.buffer).equals(Buffer.from(l.data.buffer))).toBe(true);
    const missing = await cli('upscale', input, '-o', await tmp(), '--json', ...MODEL, ...queueArgs);
    expect(missing.code).toBe(1);
    expect(jsonLines(missing.stdout).find((e) => e.type === 'file-error')).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('holds 2 volumes') });
  });
});
