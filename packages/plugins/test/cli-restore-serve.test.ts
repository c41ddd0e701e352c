import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { readImageFile } from '@diffusekit/core';
import { runCli } from '@diffusekit/plugins';
import { REPO_ROOT, cli, jsonLines } from './cli-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');

describe('diffusekit restore', () => {
  it('restores a JPEG to a JPEG of the same size and reports its quality', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-restore-'));
    const input = path.join(dir, 'in.jpg');
    const pixels = Buffer.alloc(40 * 24 * 3).map((_, i) => (i * 13) % 256);
    await writeFile(input, await sharp(pixels, { raw: { width: 40, height: 24, channels: 3 } }).jpeg({ quality: 20 }).toBuffer());
    const output = path.join(dir, 'out.jpg');
    const { code, stdout } = await cli('restore', input, '-o', output, '--model', 'tiny-palette-jpeg', '--steps', '2', '--json');
    expect(code).toBe(0);
    const done = jsonLines(stdout).find((e) => e.type === 'file-done')!;
    expect((done.info as { jpegQuality: number }).jpegQuality).toBe(20);
    const { raster, format } = await readImageFile(output);
    expect([format, raster.width, raster.height]).toEqual(['jpeg', 40, 24]);
  });

  it('refuses a model made for another task', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-restore-'));
    const { code, stderr } = await cli('restore', path.join(REPO_ROOT, 'samples', 'aerial-town.png'), '-o', dir, '--model', 'tiny-sr3-x2');
    expect(code).toBe(1);
    expect(stderr).toContain('MODEL_INCOMPATIBLE');
  });
});

describe('diffusekit serve', () => {
  it('serves until aborted, then shuts down gracefully with exit 0', async () => {
    const controller = new AbortController();
    let log = '';
    const stderr = new Writable({
      write(chunk: Buffer, _e, done) {
        log += chunk.toString();
        done();
      },
    });
    const stdout = new Writable({ write: (_c, _e, done) => done() });
    const running = runCli(['serve', '--port', '0', '--threads', '1'], { stdout, stderr }, { signal: controller.signal });
    while (!/serving on (http:\/\/\S+)/.test(log)) await new Promise((r) => setTimeout(r, 20));
    const url = /serving on (http:\/\/\S+)/.exec(log)![1]!;
    const health = (await (await fetch(`${url}/v1/health`)).json()) as { status: string; workers: number };
    expect(health).toMatchObject({ status: 'ok', workers: 1 });
    const tasks = (await (await fetch(`${url}/v1/tasks`)).json()) as { tasks: { id: string }[] };
    expect(tasks.tasks.map((t) => t.id)).toEqual(expect.arrayContaining(['sr3', 'palette-jpeg']));
    controller.abort();
    await expect(running).resolves.toBe(0);
    expect(log).toContain('shutting down');
  });

  it('refuses a bad port with exit 2', async () => {
    expect((await cli('serve', '--port', 'eighty')).code).toBe(2);
  });
});
