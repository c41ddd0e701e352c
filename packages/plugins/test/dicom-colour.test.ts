import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { decodeImage, readImageFile, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime } from '@diffusekit/plugins';
import { bufferOf, colourDicom, photoRgb } from '../../../test/fixtures/dicom-builders.js';
import { REPO_ROOT, cli, jsonLines } from './cli-helpers.js';
import { binaryParser, testApp } from './http-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-sr3-x2', '--steps', '2', '--threads', '1'];
const tmp = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'diffusekit-colour-cli-'));

/** A two-frame colour cine (Multi-frame True Color Secondary Capture) of two crops of a real photograph. */
async function cine(): Promise<Buffer> {
  return colourDicom({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7.4', NumberOfFrames: 2, PixelData: [bufferOf(Buffer.concat([await photoRgb(0), await photoRgb(30)]))] });
}

describe('colour DICOM in the CLI', () => {
  it('upscales a colour cine in kind (RGB DICOM, every frame, spacing halved), with the same pixels as the frames run as PNG', async () => {
    const dir = await tmp();
    const input = path.join(dir, 'cine.dcm');
    await writeFile(input, await cine());
    const info = await cli('info', '--json', input);
    expect(jsonLines(info.stdout)[0]).toMatchObject({ format: 'dicom', bands: 3, depth: 2, medical: { photometric: 'RGB' } });
    const out = path.join(dir, 'out');
    const run = await cli('upscale', input, '-o', out, '--json', ...MODEL);
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { slices: 2, scale: 2 } });
    const source = (await readImageFile(input)).volume!;
    const up = (await readImageFile(path.join(out, 'cine.dcm'))).volume!;
    expect([up.width, up.height, up.depth, up.bands, up.dtype]).toEqual([96, 72, 2, 3, 'uint8']);
    expect(up.medical.photometric).toBe('RGB');
    expect(up.medical.spacing[0]).toBeCloseTo(source.medical.spacing[0] / 2, 6);
    expect(up.medical.dicom!.seriesInstanceUid).not.toBe(source.medical.dicom!.seriesInstanceUid);
    // Every frame and band stays in place: each output frame, averaged back down 2x2, is close to its source frame
    // band for band, and far from the other frame or from its bands in another order.
    const plane = source.width * source.height;
    const psnr = (frame: number, sourceFrame: number, bandOrder: number[]): number => {
      let se = 0;
      for (let b = 0; b < 3; b++) {
        for (let y = 0; y < source.height; y++) {
          for (let x = 0; x < source.width; x++) {
            const at = (dx: number, dy: number) => up.data[(frame * 3 + b) * plane * 4 + (2 * y + dy) * up.width + 2 * x + dx]!;
            const mean = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4;
            const d = mean - source.data[(sourceFrame * 3 + bandOrder[b]!) * plane + y * source.width + x]!;
            se += d * d;
          }
        }
      }
      return 10 * Math.log10((255 * 255) / (se / (3 * plane)));
    };
    for (const frame of [0, 1]) {
      const own = psnr(frame, frame, [0, 1, 2]);
      expect(own).toBeGreaterThan(25);
      expect(own).toBeGreaterThan(psnr(frame, 1 - frame, [0, 1, 2]) + 5);
      expect(own).toBeGreaterThan(psnr(frame, frame, [2, 1, 0]) + 5);
    }
  });

  it('writes colour to NIfTI as RGB24, the same voxels as the colour DICOM it writes by default', async () => {
    const dir = await tmp();
    const input = path.join(dir, 'cine.dcm');
    await writeFile(input, await cine());
    const [asNifti, asDicom] = [path.join(dir, 'nifti'), path.join(dir, 'dicom')];
    expect((await cli('upscale', input, '-o', asNifti, '--format', 'nifti', ...MODEL)).code).toBe(0);
    expect((await cli('upscale', input, '-o', asDicom, ...MODEL)).code).toBe(0);
    const nifti = (await readImageFile(path.join(asNifti, 'cine.nii.gz'))).volume!;
    const dicom = (await readImageFile(path.join(asDicom, 'cine.dcm'))).volume!;
    expect([nifti.bands, nifti.dtype, nifti.medical.nifti!.datatype]).toEqual([3, 'uint8', 128]);
    expect([nifti.width, nifti.height, nifti.depth]).toEqual([dicom.width, dicom.height, dicom.depth]);
    expect(Buffer.from(nifti.data as Uint8Array).equals(Buffer.from(dicom.data as Uint8Array))).toBe(true);
  });
});

describe('colour DICOM over HTTP', () => {
  let runtime: Runtime;
  beforeAll(() => {
    runtime = createDefaultRuntime({ engine: { threads: 1 }, modelFolders: [path.join(REPO_ROOT, 'test', 'models')] });
  });
  afterAll(async () => {
    await runtime.close();
  });

  it('answers a colour DICOM with a colour DICOM', async () => {
    const { app } = testApp(runtime);
    const body = await cine();
    const res = await request(app).post('/v1/tasks/sr3?model=tiny-sr3-x2&steps=2').set('Content-Type', 'application/octet-stream').send(body).buffer(true).parse(binaryParser).expect(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    const { volume } = await decodeImage(res.body as Buffer);
    expect([volume!.width, volume!.height, volume!.depth, volume!.bands]).toEqual([96, 72, 2, 3]);
  });
});
