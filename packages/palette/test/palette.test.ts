import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createRuntime, decodeImage, readImageFile, type ImageTaskResult, type Raster } from '@diffusekit/core';
import { palettePlugin } from '@diffusekit/palette';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const runtime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')], plugins: [palettePlugin] });
const load = () => runtime.load<Raster, unknown, ImageTaskResult>('palette-jpeg', { model: 'tiny-palette-jpeg' });

afterAll(() => runtime.close());

describe('palette-jpeg task', () => {
  it('restores a real JPEG at its own size and reports the estimated quality', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'photo.png'));
    const jpeg = await sharp(Buffer.from(raster.data.buffer, raster.data.byteOffset, raster.data.byteLength), {
      raw: { width: raster.width, height: raster.height, channels: 3 },
    })
      .jpeg({ quality: 15 })
      .toBuffer();
    // photo.png is planar; the raw input above is read as interleaved, which still makes a valid test image.
    const decoded = (await decodeImage(jpeg)).raster;
    expect(decoded.sourceQuality).toBe(15);
    const out = await (await load()).run(decoded, { steps: 2, tile: 32 });
    expect([out.raster.width, out.raster.height, out.raster.bands, out.raster.dtype]).toEqual([decoded.width, decoded.height, 3, 'uint8']);
    expect(out.raster.sourceFormat).toBe('jpeg');
    expect(out.info?.jpegQuality).toBe(15);
    // The tiny model returns the condition plus a bounded residual: output stays close to the input.
    let diff = 0;
    for (let i = 0; i < decoded.data.length; i++) diff += Math.abs(out.raster.data[i]! - decoded.data[i]!);
    expect(diff / decoded.data.length).toBeLessThan(8);
  });

  it('keeps 16-bit input 16-bit', async () => {
    const { raster } = await readImageFile(path.join(FIXTURES, 'rgb16.tif'));
    const out = await (await load()).run(raster, { steps: 1 });
    expect(out.raster.dtype).toBe('uint16');
    expect(out.info?.jpegQuality).toBeNull();
  });
});
