import path from 'node:path';
import request from 'supertest';
import { decodeImage, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime } from '@diffusekit/plugins';
import { FIXTURES, REPO_ROOT } from './cli-helpers.js';
import { binaryParser, testApp } from './http-helpers.js';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { unsupportedLabelled } from './medical-helpers.js';

let runtime: Runtime;
beforeAll(() => {
  runtime = createDefaultRuntime({ engine: { threads: 1 }, modelFolders: [path.join(REPO_ROOT, 'test', 'models')] });
});
afterAll(async () => {
  await runtime.close();
});

const medical = (name: string) => readFileSync(path.join(FIXTURES, 'medical', name));

describe('HTTP with DICOM and NIfTI uploads', () => {
  it('answers a NIfTI volume with a NIfTI volume, every slice upscaled and the affine scaled', async () => {
    const { app } = testApp(runtime);
    const res = await request(app)
      .post('/v1/tasks/sr3?model=tiny-sr3-x2&steps=2')
      .set('Content-Type', 'application/octet-stream')
      .send(medical('ch2-small.nii.gz'))
      .buffer(true)
      .parse(binaryParser)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['content-disposition']).toContain('result.nii.gz');
    const { volume, format } = await decodeImage(res.body as Buffer);
    expect(format).toBe('nifti');
    expect([volume!.width, volume!.height, volume!.depth]).toEqual([90, 108, 45]);
    expect(volume!.medical.spacing).toEqual([2, 2, 4]);
  });

  it('answers a DICOM file with a derived DICOM file, and refuses formats that cannot hold it', async () => {
    const { app } = testApp(runtime);
    const res = await request(app)
      .post('/v1/tasks/sr3?model=tiny-sr3-x2&steps=2')
      .set('Content-Type', 'application/octet-stream')
      .send(medical('xa-cine.dcm'))
      .buffer(true)
      .parse(binaryParser)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    const { volume } = await decodeImage(res.body as Buffer);
    expect([volume!.width, volume!.height, volume!.depth, volume!.dtype]).toEqual([64, 64, 16, 'uint8']);
    expect(volume!.medical.dicom!.imageType!.slice(0, 2)).toEqual(['DERIVED', 'SECONDARY']);

    const png = await request(app).post('/v1/tasks/sr3?model=tiny-sr3-x2&format=png').set('Content-Type', 'application/octet-stream').send(medical('xa-cine.dcm')).expect(400);
    expect(png.body.code).toBe('INVALID_OPTION');
    const dicomFromNifti = await request(app).post('/v1/tasks/sr3?model=tiny-sr3-x2&format=dicom').set('Content-Type', 'application/octet-stream').send(medical('ch2-small.nii.gz')).expect(400);
    expect(dicomFromNifti.body.code).toBe('INVALID_OPTION');
  });

  it('answers a DICOM without codec with UNSUPPORTED_TRANSFER_SYNTAX and keeps serving', async () => {
    const { app } = testApp(runtime);
    const unsupported = await unsupportedLabelled(path.join(await mkdtemp(path.join(tmpdir(), 'diffusekit-http-medical-')), 'jpeg-extended.dcm'));
    const res = await request(app).post('/v1/tasks/sr3?model=tiny-sr3-x2&steps=2').set('Content-Type', 'application/octet-stream').send(readFileSync(unsupported)).expect(415);
    expect(res.body).toMatchObject({ code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: expect.stringContaining('JPEG Extended') });
    await request(app).get('/v1/health').expect(200);
  });
});
