import { createRaster, decodeImage, encodeImage, isDiffusekitError, readImageHeader, selectBands } from '@diffusekit/core';
import type { DType, ImageFormat, Raster } from '@diffusekit/core';
import { firstDifference, fixture, seededRandom } from '../../../test/fixtures/helpers.js';

/** Random samples over the whole dtype range, so every bit of every sample is exercised. */
function randomRaster(dtype: DType, bands: number, seed: number, width = 23, height = 13): Raster {
  const next = seededRandom(seed);
  const length = width * height * bands;
  const data =
    dtype === 'uint8'
      ? Uint8Array.from({ length }, () => Math.floor(next() * 256))
      : dtype === 'uint16'
        ? Uint16Array.from({ length }, () => Math.floor(next() * 65536))
        : dtype === 'int16'
          ? Int16Array.from({ length }, () => Math.floor(next() * 65536) - 32768)
          : Float32Array.from({ length }, () => (next() - 0.5) * 1e6);
  return createRaster({ width, height, bands, dtype, data });
}

async function roundTrip(raster: Raster, format: ImageFormat, options: Record<string, unknown> = {}): Promise<Raster> {
  const bytes = await encodeImage(raster, { format, ...options });
  const decoded = await decodeImage(bytes);
  expect(decoded.format).toBe(format);
  return decoded.raster;
}

function expectSameSamples(actual: Raster, expected: Raster): void {
  expect({ width: actual.width, height: actual.height, bands: actual.bands, dtype: actual.dtype }).toEqual({
    width: expected.width,
    height: expected.height,
    bands: expected.bands,
    dtype: expected.dtype,
  });
  expect(firstDifference(actual.data, expected.data)).toBe(-1);
}

function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak: number): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((peak * peak) / (sum / a.length));
}

describe('bit-exact round trips', () => {
  it.each([
    ['png', 'uint8'],
    ['png', 'uint16'],
    ['tiff', 'uint8'],
    ['tiff', 'uint16'],
  ] as const)('%s keeps %s samples exactly for 1 to 4 bands (alpha kept as a band)', async (format, dtype) => {
    for (const bands of [1, 2, 3, 4]) {
      const raster = randomRaster(dtype, bands, bands * 31);
      expectSameSamples(await roundTrip(raster, format), raster);
    }
  });

  it('TIFF keeps int16, float32 and six bands exactly, in both sample orders and with or without compression', async () => {
    for (const [dtype, bands] of [['int16', 1], ['float32', 2], ['uint8', 6], ['uint16', 5]] as const) {
      const raster = randomRaster(dtype, bands, 17);
      for (const interleave of ['pixel', 'band'] as const) {
        for (const compression of ['none', 'deflate'] as const) {
          expectSameSamples(await roundTrip(raster, 'tiff', { interleave, compression }), raster);
        }
      }
    }
  });

  it('WebP lossless keeps RGB and RGBA exactly', async () => {
    for (const bands of [3, 4]) {
      const raster = randomRaster('uint8', bands, 5);
      expectSameSamples(await roundTrip(raster, 'webp', { lossless: true }), raster);
    }
  });

  it('real fixtures survive re-encoding in their own format', async () => {
    for (const name of ['photo.png', 'gray16.png', 'rgb16.tif']) {
      const { raster, format } = await decodeImage(fixture(name));
      expectSameSamples(await roundTrip(raster, format), raster);
    }
  });

  it('16-bit in gives 16-bit out', async () => {
    const raster = randomRaster('uint16', 3, 8);
    for (const format of ['png', 'tiff'] as const) {
      const header = await readImageHeader(await encodeImage(raster, { format }));
      expect(header.dtype).toBe('uint16');
    }
  });
});

describe('decoding real data', () => {
  it('reads all 16 bits of a 16-bit PNG: each value is the 8-bit source * 256 + a known pattern', async () => {
    const gray16 = (await decodeImage(fixture('gray16.png'))).raster;
    const source = (await decodeImage(fixture('sp27gtif-crop.tif'))).raster;
    expect(gray16.dtype).toBe('uint16');
    const expected = new Uint16Array(source.width * source.height);
    for (let y = 0; y < source.height; y++) {
      for (let x = 0; x < source.width; x++) expected[y * source.width + x] = source.data[y * source.width + x]! * 256 + ((x * 7 + y * 13) & 0xff);
    }
    expect(firstDifference(gray16.data, expected)).toBe(-1);
  });

  it('reads all 16 bits of a 16-bit RGB TIFF made from Landsat bands 3, 2, 1', async () => {
    const rgb16 = (await decodeImage(fixture('rgb16.tif'))).raster;
    const landsat = (await decodeImage(fixture('l7etm-crop.tif'))).raster;
    const { width, height } = landsat;
    const trueColour = selectBands(landsat, [2, 1, 0]);
    const expected = new Uint16Array(width * height * 3);
    for (let b = 0; b < 3; b++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (b * height + y) * width + x;
          expected[i] = trueColour.data[i]! * 256 + ((x * 7 + y * 13 + b * 101) & 0xff);
        }
      }
    }
    expect(firstDifference(rgb16.data, expected)).toBe(-1);
  });

  it('decodes the JPEG close to the lossless PNG of the same photo crop', async () => {
    const jpeg = (await decodeImage(fixture('photo.jpg'))).raster;
    const png = (await decodeImage(fixture('photo.png'))).raster;
    expect(jpeg.bands).toBe(3);
    expect(psnr(jpeg.data, png.data, 255)).toBeGreaterThan(30);
  });

  it('encodes JPEG and lossy WebP at the requested quality', async () => {
    const photo = (await decodeImage(fixture('photo.png'))).raster;
    const low = await encodeImage(photo, { format: 'jpeg', quality: 20 });
    const high = await encodeImage(photo, { format: 'jpeg', quality: 95 });
    expect(low.length).toBeLessThan(high.length);
    const decoded = (await decodeImage(high)).raster;
    expect(psnr(decoded.data, photo.data, 255)).toBeGreaterThan(35);
    const grey = (await decodeImage(await encodeImage(selectBands(photo, [1]), { format: 'jpeg' }))).raster;
    expect(grey.bands).toBe(1);
    const webp = (await decodeImage(await encodeImage(photo, { format: 'webp', quality: 90 }))).raster;
    expect(psnr(webp.data, photo.data, 255)).toBeGreaterThan(30);
  });
});

describe('bit depth and format limits', () => {
  it('writes uint16 as 8 bits only when asked, as value / 257 rounded', async () => {
    const raster = createRaster({ width: 4, height: 1, bands: 1, dtype: 'uint16', data: new Uint16Array([0, 128, 257 * 100 + 128, 65535]) });
    const eight = (await decodeImage(await encodeImage(raster, { format: 'png', bitDepth: 8 }))).raster;
    expect(eight.dtype).toBe('uint8');
    expect(Array.from(eight.data)).toEqual([0, 0, 100, 255]);
    const jpeg = (await decodeImage(await encodeImage(createRaster({ ...raster, data: new Uint16Array(4).fill(257 * 200) }), { format: 'jpeg', bitDepth: 8 }))).raster;
    expect(jpeg.dtype).toBe('uint8');
  });

  it.each<[string, Raster, ImageFormat, string]>([
    ['six bands as PNG', randomRaster('uint8', 6, 1), 'png', '1/2/3/4 band(s)'],
    ['int16 as PNG', randomRaster('int16', 1, 1), 'png', 'uint8 or uint16'],
    ['uint16 as JPEG', randomRaster('uint16', 3, 1), 'jpeg', 'bitDepth: 8'],
    ['RGBA as JPEG', randomRaster('uint8', 4, 1), 'jpeg', '1/3 band(s)'],
    ['grey as WebP', randomRaster('uint8', 1, 1), 'webp', '3/4 band(s)'],
  ])('refuses %s with ENCODE_FAILED saying what is accepted', async (_label, raster, format, accepted) => {
    const error = await encodeImage(raster, { format }).catch((e: unknown) => e);
    expect(isDiffusekitError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ENCODE_FAILED', message: expect.stringContaining(accepted) });
  });

  it('refuses bad encode options and invalid rasters', async () => {
    const raster = randomRaster('uint8', 3, 2);
    await expect(encodeImage(raster, { format: 'gif' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('png, jpeg, webp, tiff, geotiff') });
    await expect(encodeImage(raster, { format: 'jpeg', quality: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('quality') });
    await expect(encodeImage({ ...raster, bands: 2 }, { format: 'png' })).rejects.toMatchObject({ code: 'INVALID_RASTER' });
  });
});
