import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import request from 'supertest';
import { decodeImage, readImageFile, readImageFileHeader, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime } from '@diffusekit/plugins';
import { REPO_ROOT, cli, jsonLines } from './cli-helpers.js';
import { binaryParser, testApp } from './http-helpers.js';
import { fourDNifti } from './medical-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-sr3-x2', '--steps', '2', '--threads', '1'];
const tmp = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'diffusekit-nifti4d-'));

describe('4-D NIfTI in the CLI', () => {
  it('info names the volume count; upscale --volume runs that volume exactly as its own 3-D file; without --volume the file fails alone', async () => {
    const dir = await tmp();
    const { fourD, volume1 } = fourDNifti();
    const fourDPath = path.join(dir, 'in', 'bold.nii.gz');
    const singlePath = path.join(dir, 'single', 'vol1.nii.gz');
    await Promise.all([fourDPath, singlePath].map((p) => mkdir(path.dirname(p), { recursive: true })));
    await writeFile(fourDPath, fourD);
    await writeFile(singlePath, volume1);

    const info = await cli('info', '--json', fourDPath);
    expect(jsonLines(info.stdout)[0]).toMatchObject({ format: 'nifti', width: 45, height: 54, depth: 6, volumes: 2, medical: { dim: [4, 45, 54, 6, 2, 1, 1, 1] } });
    expect((await cli('info', fourDPath)).stdout).toContain('volumes     2');

    const out = path.join(dir, 'out');
    const picked = await cli('upscale', fourDPath, '-o', path.join(out, 'bold-vol1.nii.gz'), '--volume', '1', '--json', ...MODEL);
    expect(picked.code).toBe(0);
    expect(jsonLines(picked.stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { slices: 6, volumeIndex: 1 } });
    const alone = await cli('upscale', singlePath, '-o', path.join(out, 'vol1.nii.gz'), ...MODEL);
    expect(alone.code).toBe(0);
    const a = (await readImageFile(path.join(out, 'bold-vol1.nii.gz'))).volume!;
    const b = (await readImageFile(path.join(out, 'vol1.nii.gz'))).volume!;
    expect([a.width, a.height, a.depth]).toEqual([90, 108, 6]);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect(a.medical.affine).toEqual(b.medical.affine);
    expect(a.medical.nifti).toMatchObject({ volumes: 1, dim: [3, 90, 108, 6, 1, 1, 1, 1] });
    expect(a.medical.nifti!.pixdim[4]).toBeCloseTo(2.5, 6);

    // In a batch, the 4-D file without --volume fails by itself and the other file is still written.
    const batchOut = path.join(dir, 'batch');
    const batch = await cli('upscale', fourDPath, singlePath, '-o', batchOut, '--json', ...MODEL);
    expect(batch.code).toBe(1);
    const events = jsonLines(batch.stdout);
    expect(events.find((e) => e.type === 'file-error')).toMatchObject({ code: 'INVALID_OPTION', file: fourDPath, message: expect.stringContaining('holds 2 volumes') });
    expect(await readdir(batchOut)).toEqual(['vol1.nii.gz']);

    // --volume all: every volume through the task into one 4-D NIfTI, volume for volume what --volume N writes.
    const all = await cli('upscale', fourDPath, '-o', path.join(out, 'bold-all.nii.gz'), '--volume', 'all', '--json', ...MODEL);
    expect(all.code).toBe(0);
    const allEvents = jsonLines(all.stdout);
    expect(allEvents.find((e) => e.type === 'file-done')).toMatchObject({ info: { volumes: 2, slices: 6, scale: 2 } });
    expect(allEvents.filter((e) => e.type === 'progress' && (e.progress as { kind: string }).kind === 'item').map((e) => (e.progress as { name: string }).name)).toContain('volume 2/2, slice 6');
    const series = await readImageFileHeader(path.join(out, 'bold-all.nii.gz'));
    expect(series).toMatchObject({ width: 90, height: 108, depth: 6, volumes: 2, medical: { nifti: { dim: [4, 90, 108, 6, 2, 1, 1, 1] } } });
    expect(series.medical!.nifti!.pixdim[4]).toBeCloseTo(2.5, 6);
    const fromSeries = (await readImageFile(path.join(out, 'bold-all.nii.gz'), { volumeIndex: 1 })).volume!;
    expect(Buffer.from(fromSeries.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(fromSeries.medical.affine).toEqual(a.medical.affine);

    const usage = await cli('upscale', fourDPath, '-o', out, '--volume', 'last', ...MODEL);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--volume');
  });
});

describe('4-D pairs (.hdr + .img) in the CLI', () => {
  it('runs every volume of a NIfTI pair and of an ANALYZE 7.5 pair with --volume all, voxel for voxel as the single file', async () => {
    const dir = await tmp();
    const nii = gunzipSync(fourDNifti().fourD);
    const offset = nii.readFloatLE(108);
    const pairHeader = Buffer.from(nii.subarray(0, 348));
    pairHeader.write('ni1\0', 344, 'latin1');
    pairHeader.writeFloatLE(0, 108);
    // The same header as ANALYZE 7.5 states it: no magic, no transforms (history fields), voxels at the .img's start.
    const analyzeHeader = Buffer.from(pairHeader);
    analyzeHeader.fill(0, 252, 348);
    await mkdir(path.join(dir, 'in'));
    await writeFile(path.join(dir, 'in', 'bold.nii.gz'), fourDNifti().fourD);
    for (const [stem, header] of [['pair', pairHeader], ['analyze', analyzeHeader]] as const) {
      await writeFile(path.join(dir, 'in', `${stem}.hdr`), header);
      await writeFile(path.join(dir, 'in', `${stem}.img`), nii.subarray(offset));
    }
    const out = path.join(dir, 'out');
    const run = await cli('upscale', path.join(dir, 'in'), '-o', out, '--volume', 'all', '--json', ...MODEL);
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout).filter((e) => e.type === 'file-done').map((e) => (e.info as { volumes: number }).volumes)).toEqual([2, 2, 2]);
    expect((await readdir(out)).sort()).toEqual(['analyze.nii.gz', 'bold.nii.gz', 'pair.nii.gz']);
    const single = await readImageFile(path.join(out, 'bold.nii.gz'), { volumeIndex: 1 });
    for (const name of ['pair.nii.gz', 'analyze.nii.gz']) {
      const back = (await readImageFile(path.join(out, name), { volumeIndex: 1 })).volume!;
      expect(Buffer.from(back.data.buffer).equals(Buffer.from(single.volume!.data.buffer))).toBe(true);
      expect(back.medical.spacing).toEqual(single.volume!.medical.spacing);
    }
    expect((await readImageFile(path.join(out, 'pair.nii.gz'), { volumeIndex: 0 })).volume!.medical.affine).toEqual((await readImageFile(path.join(out, 'bold.nii.gz'), { volumeIndex: 0 })).volume!.medical.affine);
    expect((await readImageFileHeader(path.join(out, 'analyze.nii.gz'))).medical!.nifti).toMatchObject({ qformCode: 0, sformCode: 0, dim: [4, 90, 108, 6, 2, 1, 1, 1] });
  });
});

describe('4-D NIfTI over HTTP', () => {
  let runtime: Runtime;
  beforeAll(() => {
    runtime = createDefaultRuntime({ engine: { threads: 1 }, modelFolders: [path.join(REPO_ROOT, 'test', 'models')] });
  });
  afterAll(async () => {
    await runtime.close();
  });

  it('runs the volume the "volume" field names, and answers 400 without one or out of range before queueing', async () => {
    const { app } = testApp(runtime);
    const { fourD } = fourDNifti();
    const post = (query: string) => request(app).post(`/v1/tasks/sr3?model=tiny-sr3-x2&steps=2${query}`).set('Content-Type', 'application/octet-stream').send(fourD);
    const res = await post('&volume=0').buffer(true).parse(binaryParser).expect(200);
    const { volume } = await decodeImage(res.body as Buffer);
    expect([volume!.width, volume!.height, volume!.depth]).toEqual([90, 108, 6]);
    for (const [query, text] of [['', 'holds 2 volumes'], ['&volume=2', '[0, 1]'], ['&volume=first', 'whole number']] as const) {
      const bad = await post(query).expect(400);
      expect(bad.body).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining(text) });
    }
    await post('&volume=1').expect(200); // still serving
  });
});
