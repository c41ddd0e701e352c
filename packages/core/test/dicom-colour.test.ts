import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, encodeImage, readImageFile, readImageHeader, volumeFromSlices, volumeSlice, writeVolumeFile, type VolumeAxis } from '@diffusekit/core';
import { fixture } from '../../../test/fixtures/helpers.js';
import { COLOUR_H as H, COLOUR_W as W, bufferOf, colourDicom, photoRgb, planes, requireFromCore, rleFrame, type FrameEncoder } from '../../../test/fixtures/dicom-builders.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Full-range YCbCr of JPEG/JFIF (the forward form of PS3.3 C.7.6.3.1.2), pixel-interleaved. */
function toYbrFull(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let p = 0; p < rgb.length; p += 3) {
    const [r, g, b] = [rgb[p]!, rgb[p + 1]!, rgb[p + 2]!];
    out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    out[p + 1] = Math.max(0, Math.min(255, Math.round(-0.168736 * r - 0.331264 * g + 0.5 * b + 128)));
    out[p + 2] = Math.max(0, Math.min(255, Math.round(0.5 * r - 0.418688 * g - 0.081312 * b + 128)));
  }
  return out;
}

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'diffusekit-colour-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('colour DICOM', () => {
  it('reads RGB stored pixel- or plane-interleaved as three RGB planes, exactly, and states 3 bands in the header', async () => {
    const rgb = await photoRgb();
    const interleaved = colourDicom({ PixelData: [bufferOf(rgb)] });
    const planar = colourDicom({ PlanarConfiguration: 1, PixelData: [bufferOf(planes(rgb))] });
    expect(await readImageHeader(interleaved)).toMatchObject({ format: 'dicom', width: W, height: H, bands: 3, dtype: 'uint8', depth: 1 });
    for (const bytes of [interleaved, planar]) {
      const { raster, volume } = await decodeImage(bytes);
      expect([volume!.bands, raster.bands]).toEqual([3, 3]);
      expect(Buffer.from(volume!.data as Uint8Array).equals(Buffer.from(planes(rgb)))).toBe(true);
    }
  });

  it('converts YBR_FULL and YBR_FULL_422 to RGB (within the rounding of 8-bit YCbCr)', async () => {
    // Horizontal pairs of one colour, so that 4:2:2 subsampling loses nothing and the result must match the photo.
    const rgb = await photoRgb();
    for (let p = 0; p < W * H; p += 2) for (let c = 0; c < 3; c++) rgb[3 * (p + 1) + c] = rgb[3 * p + c]!;
    const ybr = toYbrFull(rgb);
    const full = colourDicom({ PhotometricInterpretation: 'YBR_FULL', PixelData: [bufferOf(ybr)] });
    const sub = new Uint8Array(W * H * 2);
    for (let p = 0, at = 0; p < W * H; p += 2, at += 4) sub.set([ybr[3 * p]!, ybr[3 * (p + 1)]!, ybr[3 * p + 1]!, ybr[3 * p + 2]!], at);
    const half = colourDicom({ PhotometricInterpretation: 'YBR_FULL_422', PixelData: [bufferOf(sub)] });
    for (const bytes of [full, half]) expect(maxDiff((await decodeImage(bytes)).volume!.data, planes(rgb))).toBeLessThanOrEqual(2);
    // A 4:2:2 stream one byte short is named as truncated.
    await expect(decodeImage(colourDicom({ PhotometricInterpretation: 'YBR_FULL_422', PixelData: [bufferOf(sub.subarray(0, sub.length - 2))] }))).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('YBR_FULL_422') });
  });

  it('decodes colour JPEG baseline (YBR_FULL_422) as libjpeg-turbo in sharp does, and JPEG 2000 and HTJ2K colour exactly', async () => {
    const rgb = await photoRgb(20);
    const jpeg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
    const reference = await sharp(jpeg).raw().toBuffer();
    const baseline = colourDicom({ PhotometricInterpretation: 'YBR_FULL_422', PixelData: [bufferOf(jpeg)] }, '1.2.840.10008.1.2.4.50');
    expect(maxDiff((await decodeImage(baseline)).volume!.data, planes(reference))).toBeLessThanOrEqual(1);

    const codecs = [
      ['@cornerstonejs/codec-openjpeg/wasmjs', 'J2KEncoder', '1.2.840.10008.1.2.4.90', 'YBR_RCT'],
      ['@cornerstonejs/codec-openjph/wasmjs', 'HTJ2KEncoder', '1.2.840.10008.1.2.4.201', 'RGB'],
    ] as const;
    for (const [module, name, syntax, photometric] of codecs) {
      const codec = await (requireFromCore(module) as (o: object) => Promise<Record<string, new () => FrameEncoder>>)({ print: () => undefined, printErr: () => undefined });
      const encoder = new codec[name]!();
      encoder.getDecodedBuffer({ width: W, height: H, bitsPerSample: 8, componentCount: 3, isSigned: false, isUsingColorTransform: photometric === 'YBR_RCT' }).set(rgb);
      encoder.encode();
      const file = colourDicom({ PhotometricInterpretation: photometric, PixelData: [bufferOf(encoder.getEncodedBuffer())] }, syntax);
      expect(Buffer.from((await decodeImage(file)).volume!.data as Uint8Array).equals(Buffer.from(planes(rgb)))).toBe(true);
    }
  });

  it('decodes colour JPEG-LS exactly in every interleave mode (CharLS returns planes for mode 0), and converts YBR_FULL', async () => {
    const rgb = await photoRgb(10);
    const charls = await (requireFromCore('@cornerstonejs/codec-charls/wasmjs') as (o: object) => Promise<Record<string, new () => FrameEncoder & { setInterleaveMode(m: number): void }>>)({ print: () => undefined, printErr: () => undefined });
    const encode = (samples: Uint8Array, mode: number): ArrayBuffer => {
      const encoder = new charls.JpegLSEncoder!();
      encoder.getDecodedBuffer({ width: W, height: H, bitsPerSample: 8, componentCount: 3 }).set(samples);
      encoder.setInterleaveMode(mode);
      encoder.encode();
      return bufferOf(encoder.getEncodedBuffer());
    };
    // The encoder takes planes in mode 0 (measured: a stream of smooth planes compresses 7x smaller read that way).
    for (const [mode, input] of [[0, planes(rgb)], [1, rgb], [2, rgb]] as const) {
      const file = colourDicom({ PixelData: [encode(input, mode)] }, '1.2.840.10008.1.2.4.80');
      expect(Buffer.from((await decodeImage(file)).volume!.data as Uint8Array).equals(Buffer.from(planes(rgb)))).toBe(true);
    }
    const ybr = colourDicom({ PhotometricInterpretation: 'YBR_FULL', PixelData: [encode(toYbrFull(rgb), 2)] }, '1.2.840.10008.1.2.4.80');
    expect(maxDiff((await decodeImage(ybr)).volume!.data, planes(rgb))).toBeLessThanOrEqual(2);
  });

  it('maps PALETTE COLOR indices (8 and 16 bits, native and RLE) through their 16-bit lookup tables to RGB', async () => {
    // A palette of 200 entries from index 10 and an image of indices into it, some below and above its range.
    const entries = 200;
    const first = 10;
    const tables = [0, 1, 2].map((c) => Uint16Array.from({ length: entries }, (_, e) => ((e * (c + 1) * 37) % 256) * 257 + c));
    const luts = Object.fromEntries(['Red', 'Green', 'Blue'].flatMap((colour, c) => [
      [`${colour}PaletteColorLookupTableDescriptor`, [entries, first, 16]],
      [`${colour}PaletteColorLookupTableData`, bufferOf(new Uint8Array(tables[c]!.buffer))],
    ]));
    const vr = { PixelData: 'OB', RedPaletteColorLookupTableData: 'OW', GreenPaletteColorLookupTableData: 'OW', BluePaletteColorLookupTableData: 'OW' };
    const indices = Uint16Array.from({ length: W * H }, (_, p) => (p * 7) % 230);
    const expected = new Uint8Array(3 * W * H);
    indices.forEach((index, p) => {
      const entry = Math.min(entries - 1, Math.max(0, index - first));
      for (let c = 0; c < 3; c++) expected[c * W * H + p] = tables[c]![entry]! >> 8;
    });
    const eight = Uint8Array.from(indices);
    const files = [
      colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', ...luts, _vrMap: vr, PixelData: [bufferOf(eight)] }),
      colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', BitsAllocated: 16, BitsStored: 16, HighBit: 15, ...luts, _vrMap: { ...vr, PixelData: 'OW' }, PixelData: [bufferOf(new Uint8Array(indices.buffer))] }),
      colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', ...luts, _vrMap: vr, PixelData: [rleFrame([eight]).buffer as ArrayBuffer] }, '1.2.840.10008.1.2.5'),
    ];
    expect(await readImageHeader(files[0]!)).toMatchObject({ bands: 3, dtype: 'uint8' });
    for (const file of files) expect(Buffer.from((await decodeImage(file)).volume!.data as Uint8Array).equals(Buffer.from(expected))).toBe(true);
    // Written back as RGB without the lookup tables, which would describe indices the file no longer holds.
    const derived = join(folder, 'palette-derived.dcm');
    await writeVolumeFile(derived, (await decodeImage(files[0]!)).volume!);
    const written = await readImageFile(derived);
    expect(written.volume!.medical.photometric).toBe('RGB');
    expect(Buffer.from(written.volume!.data as Uint8Array).equals(Buffer.from(expected))).toBe(true);
    expect((await readFile(derived)).includes(Buffer.from([0x28, 0x00, 0x01, 0x11]))).toBe(false); // (0028,1101) Red Palette Color Lookup Table Descriptor
    // 8-bit entries, packed one per byte or stored one per 16-bit word (both are found in the wild).
    const eightBit = (packed: boolean) => Object.fromEntries(['Red', 'Green', 'Blue'].flatMap((colour, c) => {
      const high = Uint8Array.from(tables[c]!, (v) => v >> 8);
      return [[`${colour}PaletteColorLookupTableDescriptor`, [entries, first, 8]], [`${colour}PaletteColorLookupTableData`, bufferOf(packed ? high : new Uint8Array(Uint16Array.from(high).buffer))]];
    }));
    for (const packed of [true, false]) {
      const file = colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', ...eightBit(packed), _vrMap: vr, PixelData: [bufferOf(eight)] });
      expect(Buffer.from((await decodeImage(file)).volume!.data as Uint8Array).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('decodes RLE Lossless colour (one segment per component) exactly', async () => {
    const rgb = await photoRgb(40);
    const rgbPlanes = planes(rgb);
    const plane = W * H;
    const frame = rleFrame([0, 1, 2].map((c) => rgbPlanes.subarray(c * plane, (c + 1) * plane)));
    const file = colourDicom({ PixelData: [frame.buffer as ArrayBuffer] }, '1.2.840.10008.1.2.5');
    expect(Buffer.from((await decodeImage(file)).volume!.data as Uint8Array).equals(Buffer.from(rgbPlanes))).toBe(true);
  });

  it('cuts colour slices along every axis and puts them back; writes RGB DICOM an IOD checker accepts and reads it back exactly; writes colour NIfTI as RGB24', async () => {
    const [a, b] = [await photoRgb(0), await photoRgb(30)];
    // Multi-frame True Color Secondary Capture: a colour IOD (the MR fixture's own class allows grey only).
    const cine = colourDicom({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7.4', NumberOfFrames: 2, PixelData: [bufferOf(Buffer.concat([a, b]))] });
    const volume = (await decodeImage(cine)).volume!;
    expect([volume.width, volume.height, volume.depth, volume.bands]).toEqual([W, H, 2, 3]);
    expect(Buffer.from(volumeSlice(volume, 2, 1).data as Uint8Array).equals(Buffer.from(planes(b)))).toBe(true);
    for (const axis of [0, 1, 2] as VolumeAxis[]) {
      const count = [volume.width, volume.height, volume.depth][axis]!;
      const slices = Array.from({ length: count }, (_, i) => volumeSlice(volume, axis, i));
      expect(slices[0]!.bands).toBe(3);
      const back = volumeFromSlices(slices, axis, volume.medical);
      expect(Buffer.from(back.data as Uint8Array).equals(Buffer.from(volume.data as Uint8Array))).toBe(true);
    }
    const file = join(folder, 'derived.dcm');
    await writeVolumeFile(file, volume);
    const written = await readImageFile(file);
    expect(written.volume!.medical.photometric).toBe('RGB');
    expect(Buffer.from(written.volume!.data as Uint8Array).equals(Buffer.from(volume.data as Uint8Array))).toBe(true);
    // The checker's findings on the Image Pixel module (the fixture's patient and study attributes, copied from an old
    // MR file, draw findings of their own that are not the writer's).
    const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
    if (!run.error) {
      const pixelModule = /Samples per Pixel|Photometric|Planar|Bits (Allocated|Stored)|High Bit|Pixel Representation|Pixel Data|Number of Frames/;
      expect(run.stderr.split('\n').filter((l) => l.startsWith('Error') && pixelModule.test(l))).toEqual([]);
    }
    await writeVolumeFile(join(folder, 'colour.nii.gz'), volume);
    const rgb24 = (await readImageFile(join(folder, 'colour.nii.gz'))).volume!;
    expect([rgb24.bands, rgb24.medical.nifti!.datatype]).toEqual([3, 128]);
    expect(Buffer.from(rgb24.data as Uint8Array).equals(Buffer.from(volume.data as Uint8Array))).toBe(true);
    const png = await decodeImage(await encodeImage(volumeSlice(volume, 2, 0), { format: 'png' }));
    expect(Buffer.from(png.raster.data as Uint8Array).equals(Buffer.from(planes(a)))).toBe(true);
  });

  it('reads a folder of single-frame colour files as one colour series, slices in spatial order', async () => {
    const [a, b] = [await photoRgb(0), await photoRgb(30)];
    const slice = (rgb: Buffer, z: number, instance: number) =>
      colourDicom({ SOPInstanceUID: `1.2.826.0.1.3680043.2.1125.${instance}`, InstanceNumber: instance, ImagePositionPatient: [0, 0, z], ImageOrientationPatient: [1, 0, 0, 0, 1, 0], PixelData: [bufferOf(rgb)] });
    const series = join(folder, 'series');
    await mkdir(series);
    await writeFile(join(series, 'b.dcm'), slice(b, 5, 2));
    await writeFile(join(series, 'a.dcm'), slice(a, 0, 1));
    const volume = (await readImageFile(series)).volume!;
    expect([volume.width, volume.height, volume.depth, volume.bands]).toEqual([W, H, 2, 3]);
    expect(Buffer.from(volume.data as Uint8Array).equals(Buffer.concat([planes(a), planes(b)]))).toBe(true);
    await writeFile(join(series, 'grey.dcm'), fixture(join('medical', 'mr-implicit.dcm')));
    await expect(readImageFile(series)).rejects.toMatchObject({ code: 'VOLUME_INCONSISTENT', message: expect.stringContaining('uint8 colour') });
  });

  it('refuses colour it does not read, naming it: 16-bit RGB, segmented palettes, colour JPEG lossless', async () => {
    const rgb = await photoRgb();
    const sixteen = colourDicom({ BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelData: [bufferOf(Buffer.concat([rgb, rgb]))] });
    await expect(decodeImage(sixteen)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('16 bits') });
    const segmented = colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', SegmentedRedPaletteColorLookupTableData: bufferOf(new Uint8Array(8)), PixelData: [bufferOf(rgb.subarray(0, W * H))] });
    await expect(decodeImage(segmented)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('segmented palette') });
    const noTable = colourDicom({ SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR', PixelData: [bufferOf(rgb.subarray(0, W * H))] });
    await expect(decodeImage(noTable)).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('Red palette') });
    const lossless = colourDicom({ PixelData: [bufferOf(rgb)] }, '1.2.840.10008.1.2.4.70');
    await expect(decodeImage(lossless)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('colour JPEG Lossless') });
  });
});
