import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRaster, decodeImage, detectFormat, readImageFile, resolveOutputFormat, writeImageFile } from '@diffusekit/core';
import type { Raster } from '@diffusekit/core';
import { FIXTURES_DIR, firstDifference, fixture } from '../../../test/fixtures/helpers.js';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'diffusekit-codecs-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const sixBands = (): Raster => createRaster({ width: 4, height: 4, bands: 6, dtype: 'uint8' });

describe('readImageFile', () => {
  it('decodes by content, whatever the extension says', async () => {
    const path = join(folder, 'really-a-png.tif');
    await writeFile(path, fixture('photo.png'));
    const { raster, format } = await readImageFile(path);
    expect(format).toBe('png');
    expect(raster.sourceFormat).toBe('png');
    expect(firstDifference(raster.data, (await decodeImage(fixture('photo.png'))).raster.data)).toBe(-1);
  });

  it('passes decode options through', async () => {
    const { raster } = await readImageFile(join(FIXTURES_DIR, 'l7etm-crop.tif'), { window: { x: 1, y: 2, width: 3, height: 4 } });
    expect([raster.width, raster.height, raster.bands]).toEqual([3, 4, 6]);
  });

  it('reports a missing file as FILE_NOT_FOUND and a folder without DICOM files as UNSUPPORTED_FORMAT', async () => {
    await expect(readImageFile(join(folder, 'nothing-here.png'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('nothing-here.png') });
    // A folder is read as a DICOM series.
    await expect(readImageFile(folder)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  });

  it('reports an empty file as EMPTY_INPUT', async () => {
    const path = join(folder, 'empty.png');
    await writeFile(path, Buffer.alloc(0));
    await expect(readImageFile(path)).rejects.toMatchObject({ code: 'EMPTY_INPUT' });
  });
});

describe('writeImageFile', () => {
  it('round-trips a GeoTIFF through the file system with its georeference', async () => {
    const original = (await readImageFile(join(FIXTURES_DIR, 'l7etm-crop.tif'))).raster;
    const path = join(folder, 'out.tif');
    const written = await writeImageFile(path, original);
    expect(written.format).toBe('geotiff');
    const back = (await readImageFile(path)).raster;
    expect(firstDifference(back.data, original.data)).toBe(-1);
    expect(back.geo).toEqual(original.geo);
  });

  it('takes the format from the option, then the extension, then the raster source format', async () => {
    const photo = (await readImageFile(join(FIXTURES_DIR, 'photo.png'))).raster;
    const cases: [string, Record<string, unknown>, string][] = [
      ['a.jpg', {}, 'jpeg'],
      ['b.JPEG', {}, 'jpeg'],
      ['c.webp', {}, 'webp'],
      ['d.tiff', {}, 'tiff'],
      ['e.png', { format: 'tiff' }, 'tiff'],
      ['no-extension', {}, 'png'],
    ];
    for (const [name, options, format] of cases) {
      const path = join(folder, name);
      const result = await writeImageFile(path, photo, options);
      expect(result.format).toBe(format);
      expect(detectFormat(await readFile(path))).toBe(format);
    }
  });

  it('makes .tif a GeoTIFF for a georeferenced raster and a plain TIFF otherwise', () => {
    const plain = createRaster({ width: 1, height: 1, bands: 1, dtype: 'uint8' });
    expect(resolveOutputFormat('x.tif', plain, undefined)).toBe('tiff');
    expect(resolveOutputFormat('x.tif', { ...plain, geo: { transform: [0, 1, 0, 0, 0, -1] } }, undefined)).toBe('geotiff');
    expect(() => resolveOutputFormat('x.dat', plain, undefined)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('replaces an existing file whole and leaves no temporary file behind', async () => {
    const path = join(folder, 'image.png');
    await writeFile(path, 'old content');
    const photo = (await readImageFile(join(FIXTURES_DIR, 'photo.png'))).raster;
    await writeImageFile(path, photo);
    expect(detectFormat(await readFile(path))).toBe('png');
    expect(await readdir(folder)).toEqual(['image.png']);
  });

  it('leaves the target untouched and nothing behind when encoding fails', async () => {
    const path = join(folder, 'keep.png');
    await writeFile(path, 'previous');
    await expect(writeImageFile(path, sixBands())).rejects.toMatchObject({ code: 'ENCODE_FAILED' });
    expect(await readFile(path, 'utf8')).toBe('previous');
    expect(await readdir(folder)).toEqual(['keep.png']);
  });

  it('reports an unwritable target as IO_FAILED and leaves nothing behind', async () => {
    const raster = createRaster({ width: 2, height: 2, bands: 1, dtype: 'uint8' });
    await expect(writeImageFile(join(folder, 'missing-folder', 'x.png'), raster)).rejects.toMatchObject({ code: 'IO_FAILED' });
    const target = join(folder, 'a-folder.png');
    await mkdir(target);
    await expect(writeImageFile(target, raster)).rejects.toMatchObject({ code: 'IO_FAILED' });
    expect(await readdir(folder)).toEqual(['a-folder.png']);
    expect(await readdir(target)).toEqual([]);
  });

  it('stops with ABORTED before replacing the file when the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort();
    const raster = createRaster({ width: 2, height: 2, bands: 1, dtype: 'uint8' });
    await expect(writeImageFile(join(folder, 'x.png'), raster, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readdir(folder)).toEqual([]);
  });
});
