import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as niftiReader from 'nifti-reader-js';
import { checkVolumeIndex, decodeImage, encodeImage, readImageFile, readImageHeader, readNiftiVolumes, writeNiftiSeriesFile, writeNiftiSeriesFiles, writeVolumeFile, type Volume } from '@diffusekit/core';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

const [W, H, D, T] = [6, 5, 4, 3];
/** Voxel (i, j, k) of volume t: distinct in every volume, and negative values to catch a wrong signedness. */
const voxel = (i: number, j: number, k: number, t: number) => t * 1000 - 500 + k * 100 + j * 10 + i;

/** A 4-D int16 NIfTI-1 file (6x5x4 voxels, 3 volumes, TR 2 s) whose header an independent writer serialised. */
function fourD(extraTrailingBytes = 0): Buffer {
  const h = new niftiReader.NIFTI1();
  h.littleEndian = true;
  h.dims = [4, W, H, D, T, 1, 1, 1];
  h.datatypeCode = 4;
  h.numBitsPerVoxel = 16;
  h.pixDims = [1, 2, 2, 3, 2, 0, 0, 0];
  h.vox_offset = 352;
  h.xyzt_units = 2 | 8; // mm, seconds
  h.sform_code = 1;
  h.affine = [[2, 0, 0, -5], [0, 2, 0, -4], [0, 0, 3, -6], [0, 0, 0, 1]];
  h.magic = 'n+1';
  const header = Buffer.from(h.toArrayBuffer());
  const data = Buffer.alloc(W * H * D * T * 2 + extraTrailingBytes);
  let at = 0;
  for (let t = 0; t < T; t++) for (let k = 0; k < D; k++) for (let j = 0; j < H; j++) for (let i = 0; i < W; i++, at += 2) data.writeInt16LE(voxel(i, j, k, t), at);
  return Buffer.concat([header, data]);
}

const expected = (t: number) => Array.from({ length: W * H * D }, (_, n) => voxel(n % W, Math.floor(n / W) % H, Math.floor(n / (W * H)), t));

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'diffusekit-nifti4d-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('4-D NIfTI (several 3-D volumes in one file)', () => {
  it('states the volume count in the header and reads the volume named, plain and gzipped', async () => {
    for (const bytes of [fourD(), gzipSync(fourD())]) {
      const header = await readImageHeader(bytes);
      expect(header).toMatchObject({ format: 'nifti', width: W, height: H, depth: D, volumes: T, dtype: 'int16' });
      for (const t of [0, 1, 2]) {
        const { volume } = await decodeImage(bytes, { volumeIndex: t });
        expect(Array.from(volume!.data)).toEqual(expected(t));
        expect(volume!.medical.nifti).toMatchObject({ volumes: T, volumeIndex: t });
        expect(volume!.medical.valueRange).toEqual([Math.min(...expected(t)), Math.max(...expected(t))]);
      }
    }
  });

  it('asks for a volume when none is named, and refuses one out of range, before reading voxels', async () => {
    await expect(decodeImage(fourD())).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/holds 3 volumes \(dim = 4, 6, 5, 4, 3\).*volumeIndex.*\[0, 2\]/),
      details: { option: 'volumeIndex', volumes: 3 },
    });
    for (const bad of [3, -1, 1.5]) {
      await expect(decodeImage(gzipSync(fourD()), { volumeIndex: bad })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('[0, 2]') });
    }
    const header = await readImageHeader(fourD());
    expect(() => checkVolumeIndex(header, undefined)).toThrow(/holds 3 volumes/);
    expect(() => checkVolumeIndex(header, 2)).not.toThrow();
  });

  it('accepts volume 0 of any single-volume input and refuses any other, naming what volumeIndex is for', async () => {
    const png = await encodeImage({ width: 2, height: 2, bands: 1, dtype: 'uint8', data: new Uint8Array(4) }, { format: 'png' });
    const nii = await encodeImage({ width: 2, height: 2, bands: 1, dtype: 'uint8', data: new Uint8Array(4) }, { format: 'nifti' });
    for (const bytes of [png, nii]) {
      expect((await decodeImage(bytes, { volumeIndex: 0 })).raster.width).toBe(2);
      await expect(decodeImage(bytes, { volumeIndex: 1 })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('one volume') });
    }
  });

  it('names a file cut short inside the chosen volume, but reads an earlier volume of it; and refuses a stream longer than stated', async () => {
    const whole = fourD();
    const cut = whole.subarray(0, 352 + W * H * D * 2 * 2 + 10); // volume 2 is incomplete
    for (const bytes of [cut, gzipSync(cut)]) {
      expect(Array.from((await decodeImage(bytes, { volumeIndex: 1 })).volume!.data)).toEqual(expected(1));
      await expect(decodeImage(bytes, { volumeIndex: 2 })).rejects.toMatchObject({ code: 'DECODE_FAILED', details: { expectedBytes: whole.length } });
    }
    const long = gzipSync(fourD(64));
    await expect(decodeImage(long, { volumeIndex: 2 })).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('more than') });
  });

  it('reports a corrupt stream inside the chosen volume as DECODE_FAILED and still reads a volume before the damage', async () => {
    // Incompressible voxels, so that the damage lies far behind the header in the compressed stream, and volumes larger
    // than the decoder's 1 MiB output chunks, so that volume 0 is out before the damage is met.
    const [w, h, d, t] = [128, 128, 40, 3];
    const head = fourD().subarray(0, 352);
    head.writeInt16LE(w, 42);
    head.writeInt16LE(h, 44);
    head.writeInt16LE(d, 46);
    head.writeInt16LE(t, 48);
    const voxels = randomBytes(w * h * d * t * 2);
    const gz = Buffer.from(gzipSync(Buffer.concat([head, voxels])));
    expect(gz.length).toBeGreaterThan(voxels.length);
    gz.fill(0xff, gz.length - 200_000, gz.length - 199_900); // inside the last volume
    expect(Buffer.from((await decodeImage(gz, { volumeIndex: 0 })).volume!.data.buffer).equals(voxels.subarray(0, w * h * d * 2))).toBe(true);
    await expect(decodeImage(gz, { volumeIndex: 2 })).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('corrupt') });
  });

  it('reads every volume in one pass and writes them back as the same 4-D file, one volume at a time', async () => {
    for (const bytes of [fourD(), gzipSync(fourD())]) {
      const volumes: Volume[] = [];
      for await (const v of readNiftiVolumes(bytes, 1 << 20)) volumes.push(v);
      expect(volumes.map((v) => v.medical.nifti!.volumeIndex)).toEqual([0, 1, 2]);
      volumes.forEach((v, t) => expect(Array.from(v.data)).toEqual(expected(t)));
      const file = join(folder, 'series.nii.gz');
      async function* again() {
        yield* volumes;
      }
      expect(await writeNiftiSeriesFile(file, T, again())).toMatchObject({ path: file, volumes: T });
      const header = await readImageHeader(await readFile(file));
      expect(header).toMatchObject({ width: W, height: H, depth: D, volumes: T, medical: { nifti: { dim: [4, W, H, D, T, 1, 1, 1] } } });
      expect(header.medical!.nifti!.pixdim[4]).toBe(2);
      for (const t of [0, 2]) expect(Array.from((await readImageFile(file, { volumeIndex: t })).volume!.data)).toEqual(expected(t));
    }
    // Cut short: the volumes before the cut come, then DECODE_FAILED.
    const cut = gzipSync(fourD().subarray(0, 352 + W * H * D * 2 + 20));
    const seen: number[] = [];
    await expect((async () => {
      for await (const v of readNiftiVolumes(cut, 1 << 20)) seen.push(v.medical.nifti!.volumeIndex!);
    })()).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    expect(seen).toEqual([0]);
  });

  it('leaves nothing behind when a series cannot be written whole: a volume of another shape, or fewer than announced', async () => {
    const volumes: Volume[] = [];
    for await (const v of readNiftiVolumes(fourD(), 1 << 20)) volumes.push(v);
    const odd = { ...volumes[1]!, depth: 2, data: volumes[1]!.data.slice(0, W * H * 2) };
    async function* list(items: Volume[]) {
      yield* items;
    }
    const file = join(folder, 'broken.nii.gz');
    await expect(writeNiftiSeriesFile(file, 3, list([volumes[0]!, odd, volumes[2]!]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('Volume 1') });
    await expect(writeNiftiSeriesFile(file, 3, list(volumes.slice(0, 2)))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('2 volumes came') });
    expect(existsSync(file)).toBe(false);
    expect(await readdir(folder)).toEqual([]);
  });

  it('writes two 4-D files side by side from one pass, the last one renamed into place last', async () => {
    const volumes: Volume[] = [];
    for await (const v of readNiftiVolumes(fourD(), 1 << 20)) volumes.push(v);
    // A second series of another dtype: uint8, one value per volume.
    const marks = volumes.map((v, t): Volume => ({ ...v, dtype: 'uint8', data: new Uint8Array(W * H * D).fill(t + 1), medical: { ...v.medical, nifti: { ...v.medical.nifti!, datatype: 2 } } }));
    const [first, last] = [join(folder, 'values.nii.gz'), join(folder, 'marks.nii')];
    const seenAtLastVolume: boolean[] = [];
    async function* pairs() {
      for (const [t, v] of volumes.entries()) {
        if (t === T - 1) seenAtLastVolume.push(existsSync(first), existsSync(last));
        yield [v, marks[t]!];
      }
    }
    const written = await writeNiftiSeriesFiles([first, last], T, pairs());
    expect(written.map((w) => [w.path, w.volumes])).toEqual([[first, T], [last, T]]);
    expect(seenAtLastVolume).toEqual([false, false]);
    expect((await readFile(last)).subarray(0, 4).equals(Buffer.from([0x5c, 0x01, 0, 0]))).toBe(true); // .nii: not gzipped
    for (const t of [0, 1, 2]) {
      expect(Array.from((await readImageFile(first, { volumeIndex: t })).volume!.data)).toEqual(expected(t));
      const mark = (await readImageFile(last, { volumeIndex: t })).volume!;
      expect([mark.dtype, mark.data[0], mark.data[W * H * D - 1]]).toEqual(['uint8', t + 1, t + 1]);
    }
    await rm(first);
    await rm(last);
  });

  it('leaves none of the side-by-side files when one cannot be written or a time point lacks a volume', async () => {
    const volumes: Volume[] = [];
    for await (const v of readNiftiVolumes(fourD(), 1 << 20)) volumes.push(v);
    const good = join(folder, 'good.nii.gz');
    async function* pairs(last: (t: number) => Volume[]) {
      for (const [t, v] of volumes.entries()) yield t === T - 1 ? last(t) : [v, v];
    }
    await expect(writeNiftiSeriesFiles([good, join(folder, 'missing-folder', 'x.nii.gz')], T, pairs((t) => [volumes[t]!, volumes[t]!])))
      .rejects.toMatchObject({ code: 'IO_FAILED', details: { path: join(folder, 'missing-folder', 'x.nii.gz') } });
    await expect(writeNiftiSeriesFiles([good, join(folder, 'other.nii.gz')], T, pairs((t) => [volumes[t]!])))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('Time point 2 came with 1 volumes') });
    await expect(writeNiftiSeriesFiles([good, good], T, pairs((t) => [volumes[t]!, volumes[t]!]))).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(await readdir(folder)).toEqual([]);
  });

  it('writes the chosen volume as a 3-D NIfTI that keeps the grid, the affine and the repetition time', async () => {
    const volume = (await decodeImage(gzipSync(fourD()), { volumeIndex: 2 })).volume!;
    const file = join(folder, 'vol2.nii.gz');
    await writeVolumeFile(file, volume);
    const back = (await readImageFile(file)).volume!;
    expect(back.medical.nifti).toMatchObject({ volumes: 1, dim: [3, W, H, D, 1, 1, 1, 1] });
    expect(back.medical.nifti!.volumeIndex).toBeUndefined();
    expect(back.medical.nifti!.pixdim[4]).toBe(2);
    expect(back.medical.affine).toEqual(volume.medical.affine);
    expect(Array.from(back.data)).toEqual(expected(2));
  });
});
