import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage, encodeVolume, readImageHeader, type Volume } from '@diffusekit/core';
import { FIXTURES_DIR } from '../../../test/fixtures/helpers.js';

// Written by nibabel (test/fixtures/make_nifti_datatype_fixtures.py): 5x4x3 voxels, v(i, j, k) = i + 5 j + 20 k - 30.
const [W, H, D] = [5, 4, 3];
const file = (name: string) => readFile(join(FIXTURES_DIR, 'medical', name));
const v = (n: number) => (n % W) + 5 * (Math.floor(n / W) % H) + 20 * Math.floor(n / (W * H)) - 30;
const voxels = Array.from({ length: W * H * D }, (_, n) => v(n));

async function volumeOf(name: string): Promise<Volume> {
  return (await decodeImage(await file(name))).volume!;
}

describe('NIfTI datatypes without a raster dtype of their own', () => {
  it.each([
    ['dt-int8.nii', 'int16', (x: number) => x],
    ['dt-int32.nii', 'float32', (x: number) => x * 100000],
    ['dt-uint32-be.nii', 'float32', (x: number) => Math.fround((x + 30) * 3000000)],
    ['dt-int64.nii', 'float32', (x: number) => Math.fround(x * 2 ** 33)],
    ['dt-float64.nii', 'float32', (x: number) => Math.fround((x * Math.PI) / 7)],
  ] as const)('reads %s as %s with every voxel where nibabel put it', async (name, dtype, expected) => {
    const volume = await volumeOf(name);
    expect([volume.width, volume.height, volume.depth, volume.dtype, volume.bands ?? 1]).toEqual([W, H, D, dtype, 1]);
    expect(Array.from(volume.data)).toEqual(voxels.map(expected));
    expect(volume.medical.affine).toEqual([2, 0, 0, -4, 0, 2, 0, -3, 0, 0, 2, -2, 0, 0, 0, 1]);
    // Written back in the dtype it was read as (float64 and the wide integers as float32), values kept.
    const [written] = encodeVolume(volume, { format: 'nifti', gzip: false });
    expect(written!.readInt16LE(70)).toBe(dtype === 'int16' ? 4 : 16);
    const back = (await decodeImage(written!)).volume!;
    expect([back.dtype, Array.from(back.data)]).toEqual([dtype, Array.from(volume.data)]);
  });

  it('reads RGB24 as a 3-band uint8 volume and writes it back as RGB24, byte for byte as nibabel stores it', async () => {
    const bytes = await file('dt-rgb24.nii');
    expect(await readImageHeader(bytes)).toMatchObject({ format: 'nifti', bands: 3, dtype: 'uint8', depth: D });
    const volume = await volumeOf('dt-rgb24.nii');
    expect(volume.bands).toBe(3);
    const plane = W * H;
    for (const [i, j, k] of [[0, 0, 0], [4, 3, 2], [2, 1, 1]] as const) {
      const p = j * W + i;
      expect([0, 1, 2].map((b) => volume.data[(k * 3 + b) * plane + p])).toEqual([40 * i, 50 * j, 80 * k]);
    }
    const [written] = encodeVolume(volume, { format: 'nifti', gzip: false });
    const offset = (buffer: Buffer) => buffer.readFloatLE(108);
    expect(written!.readInt16LE(70)).toBe(128); // datatype
    expect(written!.readInt16LE(72)).toBe(24); // bitpix
    expect(written!.subarray(offset(written!)).equals(bytes.subarray(offset(bytes)))).toBe(true);
  });

  it('names what is read when a datatype is not', async () => {
    const bytes = Buffer.from(await file('dt-int8.nii'));
    bytes.writeInt16LE(32, 70); // complex64
    bytes.writeInt16LE(64, 72);
    await expect(decodeImage(bytes)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(/complex64 is not read; accepted: .*float64, rgb24/) });
    bytes.writeInt16LE(64, 70); // float64 with bitpix 64 ...
    bytes.writeInt16LE(32, 72); // ... but bitpix 32
    await expect(decodeImage(bytes)).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('float64 but bitpix 32') });
  });
});
