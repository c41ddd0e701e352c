import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { decodeImage, encodeVolume, readImageFile, type Runtime, type Volume } from '@diffusekit/core';
import { createDefaultRuntime } from '@diffusekit/plugins';
import { Segmenter } from '@diffusekit/segment';
import { FIXTURES, REPO_ROOT, cli } from './cli-helpers.js';
import { binaryParser, testApp } from './http-helpers.js';

const SEGMENT = path.join(FIXTURES, 'segment');
const MODELS = path.join(REPO_ROOT, 'test', 'models');
const IMAGE = path.join(SEGMENT, 'images', 'drycrop.png');
let dir: string;
let runtime: Runtime;
const saved = process.env.DIFFUSEKIT_MODELS;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-http-segment-'));
  process.env.DIFFUSEKIT_MODELS = MODELS;
  const { code } = await cli('segment', 'train', '--images', path.join(SEGMENT, 'images'), '--masks', path.join(SEGMENT, 'colour-masks'),
    '--palette', path.join(SEGMENT, 'palette.json'), '--backbone', 'tiny-ddpm', '--members', '3', '--epochs', '2', '--max-pixels', '3000', '-o', path.join(dir, 'trees'));
  expect(code).toBe(0);
  runtime = createDefaultRuntime({ engine: { provider: 'cpu', workers: 1 }, modelFolders: [MODELS], ensembleFolders: [dir] });
});
afterAll(async () => {
  await runtime?.close();
  if (saved === undefined) delete process.env.DIFFUSEKIT_MODELS;
  else process.env.DIFFUSEKIT_MODELS = saved;
  await rm(dir, { recursive: true, force: true });
});

const app = () => testApp(runtime).app;
const post = (query: string) =>
  request(app()).post(`/v1/tasks/segment?${query}`).set('content-type', 'application/octet-stream').buffer(true).parse(binaryParser);

describe('the segment task over HTTP', () => {
  it('is listed with its options once ensemble folders are configured', async () => {
    const res = await request(app()).get('/v1/tasks').expect(200);
    const segment = res.body.tasks.find((t: { id: string }) => t.id === 'segment');
    expect(segment).toMatchObject({ defaultModel: 'ddpm-aerial' });
    expect(segment.models).toContain('tiny-ddpm');
    expect(segment.options.map((o: { name: string }) => o.name)).toEqual(['ensemble', 'output', 'tile']);
  });

  it('answers with the label mask the Segmenter API gives, on the backbone the ensemble was trained on', async () => {
    // No model named: the task's default (ddpm-aerial) is not what this ensemble was trained on, and the ensemble wins.
    const res = await post('ensemble=trees').send(await readFile(IMAGE)).expect(200);
    const { raster } = await decodeImage(res.body as Buffer);
    expect([raster.bands, raster.dtype]).toEqual([1, 'uint8']);
    const segmenter = await Segmenter.load(runtime.engine, runtime.catalog, path.join(dir, 'trees'));
    const expected = await segmenter.segment((await readImageFile(IMAGE)).raster);
    expect(Buffer.from(raster.data as Uint8Array).equals(Buffer.from(expected.labels))).toBe(true);
    expect(new Set(raster.data).size).toBeGreaterThan(0);
  });

  it('gives class colours, an overlay and an uncertainty map on request, and takes the only ensemble by default', async () => {
    const image = await readFile(IMAGE);
    const { raster: input } = await decodeImage(image);
    for (const [output, bands] of [['colours', 3], ['overlay', 3], ['uncertainty', 1]] as const) {
      const res = await post(`model=tiny-ddpm&output=${output}`).send(image).expect(200);
      const { raster } = await decodeImage(res.body as Buffer);
      expect([raster.width, raster.height, raster.bands]).toEqual([input.width, input.height, bands]);
    }
  });

  it('answers a NIfTI volume with a NIfTI label volume on its grid, without the scanner rescale of the input', async () => {
    const { raster } = await readImageFile(IMAGE);
    const n = raster.width * raster.height;
    const grey = (raster.data as Uint8Array).subarray(0, n);
    const data = new Uint8Array(2 * n);
    data.set(grey, 0);
    data.set(grey.map((v) => 255 - v), n);
    const affine = [0.5, 0, 0, -10, 0, 0.5, 0, 20, 0, 0, 3, 5, 0, 0, 0, 1] as Volume['medical']['affine'];
    const volume: Volume = {
      width: raster.width, height: raster.height, depth: 2, dtype: 'uint8', data,
      medical: { format: 'nifti', dims: [raster.width, raster.height, 2], spacing: [0.5, 0.5, 3], affine, rescale: { slope: 2, intercept: -100 } },
    };
    const body = encodeVolume(volume, { format: 'nifti' })[0]!;
    const res = await post('model=tiny-ddpm').send(body).expect(200);
    expect(res.headers['content-type']).toMatch(/nifti|octet-stream|gzip/);
    const answer = await decodeImage(res.body as Buffer);
    expect(answer.format).toBe('nifti');
    const labels = answer.volume!;
    expect([labels.width, labels.height, labels.depth, labels.dtype]).toEqual([raster.width, raster.height, 2, 'uint8']);
    expect(labels.medical.rescale).toBeUndefined();
    expect(labels.medical.affine).toEqual(affine);
    const segmenter = await Segmenter.load(runtime.engine, runtime.catalog, path.join(dir, 'trees'));
    const first = await segmenter.segment(answer.volume ? { ...raster, bands: 1, data: grey } : raster);
    expect(Buffer.from(labels.data.buffer, labels.data.byteOffset, n).equals(Buffer.from(first.labels))).toBe(true);
  });

  it('answers a DICOM with a DICOM Segmentation of it (labels), and with a derived image when asked for uncertainty', async () => {
    const source = await readFile(path.join(FIXTURES, 'medical', 'mr-implicit.dcm'));
    const res = await post('model=tiny-ddpm').send(source).expect(200);
    expect(res.headers['content-type']).toMatch(/dicom/);
    const dcmjs = createRequire(path.join(REPO_ROOT, 'packages', 'core', 'package.json'))('dcmjs');
    const body = res.body as Buffer;
    const seg = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)).dict);
    const segmenter = await Segmenter.load(runtime.engine, runtime.catalog, path.join(dir, 'trees'));
    const classes = segmenter.manifest.classes;
    expect(seg).toMatchObject({ Modality: 'SEG', SegmentationType: 'BINARY', Rows: 64, Columns: 64, NumberOfFrames: classes.length });
    expect(seg.SegmentSequence.map((x: { SegmentLabel: string }) => x.SegmentLabel)).toEqual(classes.map((c) => c.name));
    const expected = (await segmenter.segment((await decodeImage(source)).raster)).labels;
    const packed = new Uint8Array(seg.PixelData[0]);
    let mismatches = 0;
    for (let k = 0; k < classes.length; k++) for (let i = 0; i < 4096; i++) if ((((packed[(k * 4096 + i) >> 3]! >> ((k * 4096 + i) & 7)) & 1) === 1) !== (expected[i] === k)) mismatches++;
    expect(mismatches).toBe(0);
    const uncertainty = await post('model=tiny-ddpm&output=uncertainty').send(source).expect(200);
    expect((await decodeImage(uncertainty.body as Buffer)).volume!.medical.dicom!.sopClassUid).not.toBe('1.2.840.10008.5.1.4.1.1.66.4');
  });

  it('refuses an unknown ensemble and a path with 400 before any work, naming the installed ones', async () => {
    const image = await readFile(IMAGE);
    for (const ensemble of ['forest', '../trees', dir]) {
      const res = await request(app()).post(`/v1/tasks/segment?model=tiny-ddpm&ensemble=${encodeURIComponent(ensemble)}`).set('content-type', 'application/octet-stream').send(image).expect(400);
      expect(res.body).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('Should be one of: trees') });
    }
    // Background jobs are checked the same way when they are created, not when they run.
    await request(app()).post('/v1/jobs?task=segment&model=tiny-ddpm&ensemble=forest').set('content-type', 'application/octet-stream').send(image).expect(400);
  });
});
