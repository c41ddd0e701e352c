import { deflateSync } from 'node:zlib';
import { createRaster, decodeImage, detectFormat, encodeImage, isDiffusekitError, readImageHeader } from '@diffusekit/core';
import type { ImageFormat } from '@diffusekit/core';
import { fixture, jpegClaimingSize, jpegWithBody, pngClaimingSize, randomBytes, tiffClaimingSize, webpClaimingSize, withFirstStripReplaced } from '../../../test/fixtures/helpers.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(isDiffusekitError(error)).toBe(true);
    return (error as { code: string }).code;
  }
  return 'no error';
}

describe('detectFormat', () => {
  it.each([
    ['photo.png', 'png'],
    ['gray16.png', 'png'],
    ['photo.jpg', 'jpeg'],
    ['rgb16.tif', 'tiff'],
    ['sp27gtif-crop.tif', 'geotiff'],
    ['l7etm-crop.tif', 'geotiff'],
    ['geomatrix.tif', 'geotiff'],
  ])('recognises %s as %s from its content', (name, format) => {
    expect(detectFormat(fixture(name))).toBe(format);
  });

  it('recognises WebP and big-endian TIFF magic, and ignores what a file is called', async () => {
    const { raster } = await decodeImage(fixture('photo.png'));
    expect(detectFormat(await encodeImage(raster, { format: 'webp' }))).toBe('webp');
    expect(detectFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 0]))).toBe('tiff');
    const asArrayBuffer = new Uint8Array(fixture('photo.jpg')).buffer;
    expect(detectFormat(asArrayBuffer)).toBe('jpeg');
  });

  it('refuses empty input with EMPTY_INPUT and unknown bytes with UNSUPPORTED_FORMAT', () => {
    expect(() => detectFormat(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => detectFormat(randomBytes(512, 7))).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('accepted: PNG, JPEG, WebP, TIFF, GeoTIFF') }),
    );
    expect(() => detectFormat(Buffer.from('GIF89a........'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});

describe('readImageHeader', () => {
  it.each<[string, ImageFormat, number, number, number, string]>([
    ['photo.png', 'png', 96, 64, 3, 'uint8'],
    ['photo.jpg', 'jpeg', 96, 64, 3, 'uint8'],
    ['gray16.png', 'png', 96, 80, 1, 'uint16'],
    ['rgb16.tif', 'tiff', 64, 48, 3, 'uint16'],
    ['sp27gtif-crop.tif', 'geotiff', 96, 80, 1, 'uint8'],
    ['l7etm-crop.tif', 'geotiff', 64, 48, 6, 'uint8'],
    ['olinda-dem-crop.tif', 'geotiff', 40, 32, 1, 'float32'],
  ])('reads %s as %s %dx%d, %d band(s) of %s, the same as a full decode', async (name, format, width, height, bands, dtype) => {
    const header = await readImageHeader(fixture(name));
    expect(header).toMatchObject({ format, width, height, bands, dtype });
    const { raster } = await decodeImage(fixture(name));
    expect({ width: raster.width, height: raster.height, bands: raster.bands, dtype: raster.dtype }).toEqual({ width, height, bands, dtype });
    // What a TIFF states beside its pixels comes out of the header exactly as the decoded raster carries it.
    expect({ nodata: header.nodata, bandNames: header.bandNames, geo: header.geo }).toEqual({ nodata: raster.nodata, bandNames: raster.bandNames, geo: raster.geo });
  });

  it('reads the size a bomb claims without decoding it', async () => {
    expect(await readImageHeader(pngClaimingSize(100000, 100000))).toEqual({ format: 'png', width: 100000, height: 100000, bands: 1, dtype: 'uint8' });
    expect(await readImageHeader(tiffClaimingSize(100000, 100000, true))).toEqual({ format: 'geotiff', width: 100000, height: 100000, bands: 1, dtype: 'uint8' });
  });

  it('decodes the hand-made TIFF when its size is honest, so the bomb cases fail for their size alone', async () => {
    expect((await decodeImage(tiffClaimingSize(4, 4, false))).raster.width).toBe(4);
    expect((await decodeImage(tiffClaimingSize(4, 4, true))).format).toBe('geotiff');
  });
});

describe('bad input', () => {
  const png = fixture('photo.png');
  const jpeg = fixture('photo.jpg');
  const tiff = fixture('l7etm-crop.tif');

  it.each<[string, string, () => Buffer]>([
    ['empty input', 'EMPTY_INPUT', () => Buffer.alloc(0)],
    ['random bytes', 'UNSUPPORTED_FORMAT', () => randomBytes(4096, 11)],
    ['a truncated PNG', 'DECODE_FAILED', () => png.subarray(0, Math.floor(png.length / 2))],
    ['a PNG cut inside its header', 'DECODE_FAILED', () => png.subarray(0, 20)],
    ['a JPEG header with a random body', 'DECODE_FAILED', () => jpegWithBody(jpeg, randomBytes(3000, 5))],
    ['a JPEG header with a zero body', 'DECODE_FAILED', () => jpegWithBody(jpeg, Buffer.alloc(3000))],
    ['a truncated JPEG', 'DECODE_FAILED', () => jpeg.subarray(0, Math.floor(jpeg.length * 0.6))],
    ['a truncated GeoTIFF', 'DECODE_FAILED', () => tiff.subarray(0, Math.floor(tiff.length / 2))],
    ['a TIFF header pointing past the end', 'DECODE_FAILED', () => Buffer.from([0x49, 0x49, 0x2a, 0x00, 0xff, 0xff, 0x00, 0x00, 1, 2, 3])],
    ['a PNG whose IHDR claims 100000x100000', 'IMAGE_TOO_LARGE', () => pngClaimingSize(100000, 100000)],
    ['a TIFF claiming 100000x100000', 'IMAGE_TOO_LARGE', () => tiffClaimingSize(100000, 100000, false)],
    ['a GeoTIFF claiming 100000x100000', 'IMAGE_TOO_LARGE', () => tiffClaimingSize(100000, 100000, true)],
    ['a JPEG claiming 65535x65535 (beyond what libvips reads)', 'IMAGE_TOO_LARGE', () => jpegClaimingSize(jpeg, 65535, 65535)],
    ['a JPEG claiming 60000x60000', 'IMAGE_TOO_LARGE', () => jpegClaimingSize(jpeg, 60000, 60000)],
    ['a GeoTIFF whose strip lies past the end', 'DECODE_FAILED', () => tiffClaimingSize(64, 64, true).subarray(0, -8)],
  ])('%s gives %s', async (_label, code, make) => {
    expect(await codeOf(decodeImage(make()))).toBe(code);
  });

  it('garbage inside the pixel data of an otherwise valid PNG fails its checksum', async () => {
    const damaged = Buffer.from(png);
    const pixelData = png.indexOf('IDAT', 0, 'latin1') + 4;
    for (let i = pixelData + 100; i < pixelData + 140; i++) damaged[i] = damaged[i]! ^ 0x5a;
    expect(await codeOf(decodeImage(damaged))).toBe('DECODE_FAILED');
  });

  it('refuses a small GeoTIFF whose deflate strip inflates far beyond its stated size, before inflating it', async () => {
    const small = createRaster({ width: 32, height: 32, bands: 1, dtype: 'uint8', geo: { transform: [0, 1, 0, 0, 0, -1], epsg: 32633 } });
    const honest = await encodeImage(small, { format: 'geotiff', compression: 'deflate' });
    expect((await decodeImage(honest)).raster.width).toBe(32);
    const bomb = withFirstStripReplaced(honest, deflateSync(Buffer.alloc(16 * 1024 * 1024)));
    await expect(decodeImage(bomb)).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('inflates beyond the 1024 bytes') });
    const garbage = withFirstStripReplaced(honest, randomBytes(300, 2));
    await expect(decodeImage(garbage)).rejects.toMatchObject({ code: 'DECODE_FAILED' });
  });

  it('applies maxPixels from the header, to the window for GeoTIFF', async () => {
    expect(await codeOf(decodeImage(png, { maxPixels: 96 * 64 - 1 }))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(decodeImage(tiff, { maxPixels: 1000 }))).toBe('IMAGE_TOO_LARGE');
    const { raster } = await decodeImage(tiff, { maxPixels: 1000, window: { x: 0, y: 0, width: 64, height: 8 } });
    expect(raster.height).toBe(8);
    const error = await decodeImage(pngClaimingSize(100000, 100000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('100000x100000') });
  });

  it('refuses every size bomb from its header without allocating its pixels', async () => {
    const { raster } = await decodeImage(png);
    // The largest size a WebP can state, which a 10 kB file can really decode to (1.6 GB of memory, 14 s here).
    const webp = webpClaimingSize(Buffer.from(await encodeImage(raster, { format: 'webp', lossless: true })), 16383, 16383);
    const bombs = [pngClaimingSize(100000, 100000), tiffClaimingSize(100000, 100000, true), jpegClaimingSize(jpeg, 65535, 65535), webp];
    const before = process.memoryUsage().rss;
    for (const bomb of bombs) expect(await codeOf(decodeImage(bomb))).toBe('IMAGE_TOO_LARGE');
    // The smallest of these would need 268 MB of samples; the refusals together may not grow the process by 64 MB.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(await readImageHeader(webp)).toMatchObject({ format: 'webp', width: 16383, height: 16383 });
  });

  it('refuses bad options with INVALID_OPTION', async () => {
    expect(await codeOf(decodeImage(png, { maxPixels: 0 }))).toBe('INVALID_OPTION');
    expect(await codeOf(decodeImage(png, { window: { x: 90, y: 0, width: 10, height: 10 } }))).toBe('INVALID_OPTION');
    expect(await codeOf(decodeImage(tiff, { window: { x: 0, y: 0, width: 65, height: 1 } }))).toBe('INVALID_OPTION');
    expect(await codeOf(decodeImage('not bytes' as never))).toBe('INVALID_OPTION');
  });

  it('stops with ABORTED when the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(decodeImage(tiff, { signal: controller.signal }))).toBe('ABORTED');
  });

  it('leaves the process able to decode good images afterwards', async () => {
    const bad = [Buffer.alloc(0), randomBytes(100, 3), png.subarray(0, 200), jpegWithBody(jpeg, randomBytes(500, 9)), pngClaimingSize(100000, 100000)];
    const results = await Promise.allSettled(bad.map((bytes) => decodeImage(bytes)));
    expect(results.every((r) => r.status === 'rejected' && isDiffusekitError(r.reason))).toBe(true);
    const { raster } = await decodeImage(png);
    expect(raster.width).toBe(96);
  });
});
