import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFile, readImageFileHeader, writeVolumeFile } from '@diffusekit/core';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';
import { fourDNifti } from './medical-helpers.js';
import { bufferOf, colourDicom, photoRgb } from '../../../test/fixtures/dicom-builders.js';

const MEDICAL = path.join(FIXTURES, 'medical');
let dir: string;
const saved = process.env.DIFFUSEKIT_MODELS;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-cli-segment-medical-'));
  process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
  // The AAL atlas grouped into background, left and right hemisphere (odd AAL indices are left, even ones right).
  await mkdir(path.join(dir, 'images'));
  await mkdir(path.join(dir, 'masks'));
  await copyFile(path.join(MEDICAL, 'ch2-small.nii.gz'), path.join(dir, 'images', 'ch2.nii.gz'));
  const { volume: aal } = await readImageFile(path.join(MEDICAL, 'aal-small.nii.gz'));
  const labels = Uint8Array.from(aal!.data, (v) => (v === 0 ? 0 : v % 2 === 1 ? 1 : 2));
  await writeVolumeFile(path.join(dir, 'masks', 'ch2.nii.gz'), { ...aal!, data: labels });
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DIFFUSEKIT_MODELS;
  else process.env.DIFFUSEKIT_MODELS = saved;
  await rm(dir, { recursive: true, force: true });
});

describe('diffusekit segment on volumes', () => {
  const ensemble = () => path.join(dir, 'ensemble');

  it('trains on chosen slices of a NIfTI volume with a label volume as masks', async () => {
    const { code, stdout } = await cli('segment', 'train', '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--slices', '20,26',
      '--backbone', 'tiny-ddpm', '--members', '2', '--epochs', '1', '--max-pixels', '2000', '--json', '-o', ensemble());
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events[0]).toMatchObject({ event: 'start', images: 2, classes: ['class 0', 'class 1', 'class 2'] });
    expect(events.at(-1)).toMatchObject({ event: 'done', training: { images: 2 } });
  });

  it('chooses a read-out on validation slices of the same volumes (--val-slices)', async () => {
    const { code, stdout } = await cli('segment', 'select', '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--slices', '20,26',
      '--val-slices', '23', '--backbone', 'tiny-ddpm-features', '--timesteps', '50', '--members', '1', '--max-pixels', '1000', '--json');
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events[0]).toMatchObject({ event: 'start', trainImages: 2, validationImages: 1 });
    expect(events.filter((e) => e.event === 'candidate')).toHaveLength(7);
    expect(events.at(-1)).toMatchObject({ event: 'done', best: { timesteps: [50] } });
  });

  it('predicts a NIfTI label volume on the input grid with its affine, and evaluates chosen slices', async () => {
    const out = path.join(dir, 'predicted');
    const { code } = await cli('segment', 'predict', ensemble(), path.join(dir, 'images', 'ch2.nii.gz'), '-o', out, '--uncertainty', '--json');
    expect(code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['ch2.labels.nii.gz', 'ch2.uncertainty.nii.gz']);
    const source = await readImageFileHeader(path.join(MEDICAL, 'ch2-small.nii.gz'));
    const { volume } = await readImageFile(path.join(out, 'ch2.labels.nii.gz'));
    expect([volume!.width, volume!.height, volume!.depth, volume!.dtype]).toEqual([45, 54, 45, 'uint8']);
    expect(volume!.medical.affine).toEqual(source.medical!.affine);
    expect(new Set(volume!.data).size).toBeGreaterThan(1);
    expect(Array.from(new Set(volume!.data)).every((v) => v <= 2)).toBe(true);

    const evaluated = await cli('segment', 'eval', ensemble(), '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--slices', '22,23', '--json');
    expect(evaluated.code).toBe(0);
    const [result] = jsonLines(evaluated.stdout);
    expect(result).toMatchObject({ images: 2 });
    expect(result!.meanIou).toBeGreaterThan(0);
  });

  it('predicts volume --volume of a 4-D NIfTI as the labels of that volume alone', async () => {
    const fourD = path.join(dir, 'bold.nii.gz');
    const single = path.join(dir, 'vol1.nii.gz');
    const { fourD: bytes, volume1 } = fourDNifti();
    await writeFile(fourD, bytes);
    await writeFile(single, volume1);
    const out = path.join(dir, 'predicted-4d');
    expect((await cli('segment', 'predict', ensemble(), fourD, '-o', out, '--volume', '1')).code).toBe(0);
    expect((await cli('segment', 'predict', ensemble(), single, '-o', out)).code).toBe(0);
    const [picked, alone] = [(await readImageFile(path.join(out, 'bold.labels.nii.gz'))).volume!, (await readImageFile(path.join(out, 'vol1.labels.nii.gz'))).volume!];
    expect([picked.width, picked.height, picked.depth]).toEqual([45, 54, 6]);
    expect(Buffer.from(picked.data.buffer).equals(Buffer.from(alone.data.buffer))).toBe(true);
  });

  it('predicts every volume of a 4-D NIfTI with --volume all: 4-D labels and uncertainty, each volume as its own run', async () => {
    const fourD = path.join(dir, 'bold-all.nii.gz');
    await writeFile(fourD, fourDNifti().fourD);
    const out = path.join(dir, 'predicted-all');
    const run = await cli('segment', 'predict', ensemble(), fourD, '-o', out, '--volume', 'all', '--uncertainty', '--json');
    expect(run.code).toBe(0);
    const done = jsonLines(run.stdout).filter((e) => e.type === 'file-done');
    expect(done.map((e) => e.info)).toMatchObject([{ volumes: 2, slices: 6 }]);
    expect((await readdir(out)).sort()).toEqual(['bold-all.labels.nii.gz', 'bold-all.uncertainty.nii.gz']);
    expect((await readImageFileHeader(path.join(out, 'bold-all.labels.nii.gz'))).medical!.nifti).toMatchObject({ dim: [4, 45, 54, 6, 2, 1, 1, 1], datatype: 2 });
    for (const t of [0, 1]) {
      const alone = path.join(dir, `predicted-volume-${t}`);
      expect((await cli('segment', 'predict', ensemble(), fourD, '-o', alone, '--volume', String(t), '--uncertainty')).code).toBe(0);
      for (const kind of ['labels', 'uncertainty']) {
        const [all, one] = [(await readImageFile(path.join(out, `bold-all.${kind}.nii.gz`), { volumeIndex: t })).volume!, (await readImageFile(path.join(alone, `bold-all.${kind}.nii.gz`))).volume!];
        expect([all.dtype, all.medical.affine]).toEqual([one.dtype, one.medical.affine]);
        expect(Buffer.from(all.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(true);
      }
    }
    const again = await cli('segment', 'predict', ensemble(), fourD, '-o', out, '--volume', 'all', '--resume', '--json');
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout).filter((e) => e.type === 'file-done' || e.type === 'file-skip').map((e) => e.type)).toEqual(['file-skip']);
  });

  it('predicts on a colour DICOM cine: a grey label volume and a DICOM Segmentation of its frames', async () => {
    const cine = path.join(dir, 'cine.dcm');
    await writeFile(cine, colourDicom({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7.4', NumberOfFrames: 2, PixelData: [bufferOf(Buffer.concat([await photoRgb(0), await photoRgb(30)]))] }));
    const out = path.join(dir, 'predicted-colour');
    const { code, stdout } = await cli('segment', 'predict', ensemble(), cine, '-o', out, '--json');
    expect(code).toBe(0);
    expect(jsonLines(stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { slices: 2 } });
    expect((await readdir(out)).sort()).toEqual(['cine.labels.nii.gz', 'cine.seg.dcm']);
    const labels = (await readImageFile(path.join(out, 'cine.labels.nii.gz'))).volume!;
    expect([labels.width, labels.height, labels.depth, labels.bands ?? 1, labels.dtype]).toEqual([48, 36, 2, 1, 'uint8']);
    const seg = await readFile(path.join(out, 'cine.seg.dcm'));
    expect(seg.toString('latin1', 128, 132)).toBe('DICM');
    expect(seg.includes(Buffer.from('1.2.840.10008.5.1.4.1.1.66.4'))).toBe(true); // Segmentation Storage
  });

  it('predicts on a DICOM series as a DICOM Segmentation referencing its images, frame for frame the NIfTI labels', async () => {
    const out = path.join(dir, 'predicted-dicom');
    const series = path.join(MEDICAL, 'brain-series');
    const { code, stdout } = await cli('segment', 'predict', ensemble(), series, '-o', out, '--json');
    expect(code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['brain-series.labels.nii.gz', 'brain-series.seg.dcm']);
    expect(jsonLines(stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { outputs: [path.join(out, 'brain-series.seg.dcm'), path.join(out, 'brain-series.labels.nii.gz')] } });
    const labels = (await readImageFile(path.join(out, 'brain-series.labels.nii.gz'))).volume!;
    const bytes = await readFile(path.join(out, 'brain-series.seg.dcm'));
    const dcmjs = createRequire(path.join(REPO_ROOT, 'packages', 'core', 'package.json'))('dcmjs');
    const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const seg = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    expect(seg).toMatchObject({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.66.4', Modality: 'SEG', SegmentationType: 'BINARY', Rows: 64, Columns: 64, NumberOfFrames: 3 * 4 });
    expect(seg.SegmentSequence.map((s: { SegmentLabel: string }) => s.SegmentLabel)).toEqual(['class 0', 'class 1', 'class 2']);
    const sources = (await readImageFile(series)).volume!.medical;
    const sourceUids = sources.dicom!.datasets.map((d) => d.SOPInstanceUID);
    const packed = new Uint8Array(seg.PixelData[0]);
    let mismatches = 0;
    seg.PerFrameFunctionalGroupsSequence.forEach((frame: Record<string, any>, f: number) => {
      const segment = frame.SegmentIdentificationSequence.ReferencedSegmentNumber;
      const [, z] = frame.FrameContentSequence.DimensionIndexValues;
      expect(frame.PlanePositionSequence.ImagePositionPatient).toEqual(sources.dicom!.positions![z - 1]);
      expect(frame.DerivationImageSequence.SourceImageSequence.ReferencedSOPInstanceUID).toBe(sourceUids[z - 1]);
      for (let i = 0; i < 64 * 64; i++) {
        const bit = f * 64 * 64 + i;
        if ((((packed[bit >> 3]! >> (bit & 7)) & 1) === 1) !== (labels.data[(z - 1) * 64 * 64 + i] === segment - 1)) mismatches++;
      }
    });
    expect(mismatches).toBe(0);
    expect(new Set(labels.data).size).toBeGreaterThan(1);
    // dciodvfy (dicom3tools) checks the object against the Segmentation IOD where it is installed; the only errors it
    // may report are about the UIDs of the test series itself (root 0.0.0.0), which the SEG references.
    const check = spawnSync('dciodvfy', [path.join(out, 'brain-series.seg.dcm')], { encoding: 'utf8' });
    if (!check.error) {
      const problems = check.stderr.split('\n').filter((l) => /^(Error|Warning)/.test(l) && !/Illegal root for UID - "0\.0\.0\.0\./.test(l));
      expect(problems).toEqual([]);
    }
  });

  it('writes a DICOM Segmentation beside the label PNG for a single 2-D DICOM file', async () => {
    const out = path.join(dir, 'predicted-dicom-file');
    const { code } = await cli('segment', 'predict', ensemble(), path.join(MEDICAL, 'mr-implicit.dcm'), '-o', out, '--json');
    expect(code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['mr-implicit.labels.png', 'mr-implicit.overlay.png', 'mr-implicit.seg.dcm']);
    const bytes = await readFile(path.join(out, 'mr-implicit.seg.dcm'));
    const dcmjs = createRequire(path.join(REPO_ROOT, 'packages', 'core', 'package.json'))('dcmjs');
    const seg = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).dict);
    expect(seg).toMatchObject({ Modality: 'SEG', Rows: 64, Columns: 64, NumberOfFrames: 3 });
    const labels = (await readImageFile(path.join(out, 'mr-implicit.labels.png'))).raster;
    const packed = new Uint8Array(seg.PixelData[0]);
    let mismatches = 0;
    for (let f = 0; f < 3; f++) for (let i = 0; i < 64 * 64; i++) if ((((packed[(f * 4096 + i) >> 3]! >> ((f * 4096 + i) & 7)) & 1) === 1) !== (labels.data[i] === f)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('refuses a label volume on another grid and slices outside the volume', async () => {
    const masks = path.join(dir, 'bad-masks');
    await mkdir(masks);
    const { volume } = await readImageFile(path.join(MEDICAL, 'xa-cine.dcm'));
    await writeVolumeFile(path.join(masks, 'ch2.nii.gz'), { ...volume!, medical: { ...volume!.medical, format: 'nifti' } });
    const wrong = await cli('segment', 'train', '--images', path.join(dir, 'images'), '--masks', masks, '--slices', '20', '--backbone', 'tiny-ddpm', '-o', path.join(dir, 'x'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('LABEL_MASK_INVALID');
    const outside = await cli('segment', 'train', '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--slices', '45', '--backbone', 'tiny-ddpm', '-o', path.join(dir, 'x'));
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('INVALID_OPTION');
  });
});
