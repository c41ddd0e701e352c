import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFile, readImageFileHeader, writeImageFile, type Raster } from '@diffusekit/core';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';
import { unsupportedLabelled } from './medical-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-sr3-x2', '--steps', '2', '--threads', '1'];
const MEDICAL = path.join(FIXTURES, 'medical');
const tmp = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'diffusekit-medical-cli-'));


describe('diffusekit info on DICOM and NIfTI', () => {
  it('describes a series folder and a NIfTI volume from their headers', async () => {
    const { code, stdout } = await cli('info', '--json', path.join(MEDICAL, 'brain-series'), path.join(MEDICAL, 'ch2-small.nii.gz'), path.join(MEDICAL, 'ct-jpeg2000.dcm'));
    expect(code).toBe(0);
    const [series, nifti, ct] = jsonLines(stdout);
    expect(series).toMatchObject({ format: 'dicom', width: 64, height: 64, depth: 4, dtype: 'int16', medical: { modality: 'MR', transferSyntax: '1.2.840.10008.1.2.1', sliceThickness: 5 } });
    expect((series!.medical as { orientation: number[] }).orientation).toHaveLength(6);
    expect(nifti).toMatchObject({ format: 'nifti', width: 45, height: 54, depth: 45, dtype: 'uint8', medical: { niftiVersion: 1, spacing: [4, 4, 4], sformCode: 4, coordinates: 'RAS (NIfTI world)' } });
    // A compressed file is described (its header is not compressed) even though its pixels cannot be decoded.
    expect(ct).toMatchObject({ width: 512, depth: 1, medical: { modality: 'CT', rescale: { slope: 1, intercept: -1024 }, transferSyntax: '1.2.840.10008.1.2.4.91' } });
    // An ANALYZE 7.5 pair reads as the NIfTI-1 it is compatible with, claiming no orientation.
    const analyze = jsonLines((await cli('info', '--json', path.join(MEDICAL, 'ch2-spm99.hdr'))).stdout)[0];
    expect(analyze).toMatchObject({ format: 'nifti', width: 45, depth: 8, dtype: 'int16', medical: { rescale: { slope: 0.5 }, qformCode: 0, sformCode: 0, coordinates: expect.stringContaining('orientation not stated') } });
    const text = await cli('info', path.join(MEDICAL, 'brain-series'));
    expect(text.stdout).toContain('slices      4');
    expect(text.stdout).toContain('LPS (DICOM patient)');
  });
});

describe('diffusekit upscale and restore on volumes', () => {
  it('upscales a series folder, a NIfTI volume and a single DICOM in kind, and reports a syntax without codec', async () => {
    const out = await tmp();
    const unsupported = await unsupportedLabelled(path.join(await tmp(), 'jpeg-extended.dcm'));
    const inputs = [...['brain-series', 'ch2-small.nii.gz', 'mr-implicit.dcm'].map((n) => path.join(MEDICAL, n)), unsupported];
    const { code, stdout } = await cli('upscale', ...inputs, '-o', out, '--json', ...MODEL);
    expect(code).toBe(1);
    const events = jsonLines(stdout);
    expect(events.find((e) => e.type === 'file-error')).toMatchObject({ code: 'UNSUPPORTED_TRANSFER_SYNTAX', file: inputs[3], message: expect.stringContaining('JPEG Extended') });
    expect(events.filter((e) => e.type === 'file-done').map((e) => (e.info as { slices: number }).slices)).toEqual([4, 45, 1]);
    expect((await readdir(out)).sort()).toEqual(['brain-series', 'ch2-small.nii.gz', 'mr-implicit.dcm']);

    const source = (await readImageFile(path.join(MEDICAL, 'brain-series'))).volume!;
    const series = (await readImageFile(path.join(out, 'brain-series'))).volume!;
    expect([series.width, series.height, series.depth, series.dtype]).toEqual([128, 128, 4, 'int16']);
    expect(series.medical.spacing[0]).toBeCloseTo(source.medical.spacing[0] / 2, 6);
    expect(series.medical.dicom!.seriesInstanceUid).not.toBe(source.medical.dicom!.seriesInstanceUid);
    expect(series.medical.dicom!.studyInstanceUid).toBe(source.medical.dicom!.studyInstanceUid);
    expect(series.medical.dicom!.datasets[0]!.ImageType).toEqual(['DERIVED', 'SECONDARY', 'MPR']);
    expect(series.medical.dicom!.datasets[0]!.DerivationDescription).toBe('diffusekit tiny-sr3-x2 x2');

    const nifti = (await readImageFile(path.join(out, 'ch2-small.nii.gz'))).volume!;
    expect([nifti.width, nifti.height, nifti.depth]).toEqual([90, 108, 45]);
    expect(nifti.medical.spacing).toEqual([2, 2, 4]);
    expect(nifti.medical.affine.slice(0, 4)).toEqual([2, 0, 0, -89.5]);

    // --resume counts each of these outputs as done (a .nii.gz must inflate to its header, a .dcm has DICM at 128).
    const again = await cli('upscale', ...inputs.slice(0, 3), '-o', out, '--resume', '--json', ...MODEL);
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout).filter((e) => e.type === 'file-skip').map((e) => path.basename(e.file as string))).toEqual(['brain-series', 'ch2-small.nii.gz', 'mr-implicit.dcm']);
  });

  it('upscales a folder holding a NIfTI pair (.hdr + .img) once, into one .nii.gz, the same as its single-file twin', async () => {
    const dir = await tmp();
    const nii = gunzipSync(await readFile(path.join(MEDICAL, 'ch2-small.nii.gz')));
    const offset = nii.readFloatLE(108);
    const hdr = Buffer.from(nii.subarray(0, 348));
    hdr.write('ni1\0', 344, 'latin1');
    hdr.writeFloatLE(0, 108);
    await mkdir(path.join(dir, 'in'));
    await writeFile(path.join(dir, 'in', 'brain.hdr'), hdr);
    await writeFile(path.join(dir, 'in', 'brain.img'), nii.subarray(offset));
    const out = path.join(dir, 'out');
    const { code, stdout } = await cli('upscale', path.join(dir, 'in'), '-o', out, '--json', ...MODEL);
    expect(code).toBe(0);
    expect(jsonLines(stdout).filter((e) => e.type === 'file-done')).toHaveLength(1);
    expect(await readdir(out)).toEqual(['brain.nii.gz']);
    const single = await tmp();
    expect((await cli('upscale', path.join(MEDICAL, 'ch2-small.nii.gz'), '-o', single, ...MODEL)).code).toBe(0);
    const [a, b] = [(await readImageFile(path.join(out, 'brain.nii.gz'))).volume!, (await readImageFile(path.join(single, 'ch2-small.nii.gz'))).volume!];
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
  });

  it('upscales an RGB24 NIfTI in colour and a float64 one as float32 (nibabel-written fixtures)', async () => {
    const out = await tmp();
    const { code } = await cli('upscale', path.join(MEDICAL, 'dt-rgb24.nii'), path.join(MEDICAL, 'dt-float64.nii'), '-o', out, ...MODEL);
    expect(code).toBe(0);
    const rgb = (await readImageFile(path.join(out, 'dt-rgb24.nii'))).volume!;
    expect([rgb.width, rgb.height, rgb.depth, rgb.bands, rgb.dtype, rgb.medical.nifti!.datatype]).toEqual([10, 8, 3, 3, 'uint8', 128]);
    const float = (await readImageFile(path.join(out, 'dt-float64.nii'))).volume!;
    expect([float.width, float.dtype, float.medical.nifti!.datatype, float.medical.spacing]).toEqual([10, 'float32', 16, [1, 1, 2]]);
  });

  it('turns a DICOM series into a NIfTI volume with --format nifti, patient coordinates turned into RAS', async () => {
    const out = await tmp();
    const { code } = await cli('upscale', path.join(MEDICAL, 'brain-series'), '-o', out, '--format', 'nifti', ...MODEL);
    expect(code).toBe(0);
    const source = await readImageFileHeader(path.join(MEDICAL, 'brain-series'));
    const header = await readImageFileHeader(path.join(out, 'brain-series.nii.gz'));
    expect([header.format, header.width, header.height, header.depth]).toEqual(['nifti', 128, 128, 4]);
    const a = source.medical!.affine;
    const b = header.medical!.affine;
    // LPS -> RAS: x and y change sign; the first voxel centre moves a quarter of an old pixel inwards (x2).
    expect(b[0]).toBeCloseTo(-a[0]! / 2, 4);
    expect(b[3]).toBeCloseTo(-(a[3]! - (a[0]! + a[1]!) / 4), 3);
    expect(b[11]).toBeCloseTo(a[11]! - (a[8]! + a[9]!) / 4, 3);
  });

  it('slices across another axis with --axis and refuses an unknown one', async () => {
    const out = await tmp();
    const { code } = await cli('upscale', path.join(MEDICAL, 'ch2-small.nii.gz'), '-o', path.join(out, 'sag.nii'), '--axis', 'i', ...MODEL);
    expect(code).toBe(0);
    const header = await readImageFileHeader(path.join(out, 'sag.nii'));
    expect([header.width, header.height, header.depth]).toEqual([45, 108, 90]);
    expect(header.medical!.spacing).toEqual([4, 2, 2]);
    expect((await cli('upscale', path.join(MEDICAL, 'ch2-small.nii.gz'), '-o', out, '--axis', 'x', ...MODEL)).code).toBe(2);
  });

  it('keeps signed CT values outside the display window (no clipping) and the rescale', async () => {
    const out = await tmp();
    // A CT-like slice: stored values from -1024 (air) to beyond 2000 (bone), a soft-tissue window of 40/400.
    const { raster } = await readImageFile(path.join(MEDICAL, 'mr-implicit.dcm'));
    const data = Int16Array.from(raster.data, (v) => v * 8 - 1024);
    const ct: Raster = { ...raster, data, medical: { ...raster.medical!, modality: 'CT', rescale: { slope: 1, intercept: 0 }, window: { center: 40, width: 400 }, valueRange: [-1024, 423 * 8 - 1024] } };
    const input = path.join(out, 'ct.dcm');
    await writeImageFile(input, ct);
    const { code, stdout } = await cli('upscale', input, '-o', path.join(out, 'ct-x2.dcm'), '--json', ...MODEL);
    expect(code).toBe(0);
    expect(jsonLines(stdout).find((e) => e.type === 'file-done')!.info).toMatchObject({ stretch: [{ min: [-1024], max: [423 * 8 - 1024] }] });
    const result = (await readImageFile(path.join(out, 'ct-x2.dcm'))).volume!;
    expect(result.dtype).toBe('int16');
    expect(result.medical.window).toEqual({ center: 40, width: 400 });
    const [min, max] = result.medical.valueRange!;
    expect(min).toBeLessThan(-900);
    expect(max).toBeGreaterThan(2000);
  });

  it('restores a volume slice by slice at the same size and geometry', async () => {
    const out = await tmp();
    const { code } = await cli('restore', path.join(MEDICAL, 'ch2-small.nii.gz'), '-o', out, '--model', 'tiny-palette-jpeg', '--steps', '2', '--threads', '1');
    expect(code).toBe(0);
    const source = await readImageFileHeader(path.join(MEDICAL, 'ch2-small.nii.gz'));
    const result = await readImageFileHeader(path.join(out, 'ch2-small.nii.gz'));
    expect([result.width, result.height, result.depth]).toEqual([45, 54, 45]);
    expect(result.medical!.affine).toEqual(source.medical!.affine);
  });
});
