import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { readImageFile } from '@diffusekit/core';
import { runCli } from '@diffusekit/plugins';
import { FIXTURES, REPO_ROOT, cli, jsonLines } from './cli-helpers.js';

process.env.DIFFUSEKIT_MODELS = path.join(REPO_ROOT, 'test', 'models');
const MODEL = ['--model', 'tiny-sr3-x2', '--steps', '2', '--threads', '1'];
const tmp = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'diffusekit-upscale-'));

describe('diffusekit upscale', () => {
  it('works on a large image cell by cell with --grid: georeferenced cells, a VRT mosaic, resumable per cell', async () => {
    const output = await tmp();
    const scene = path.join(FIXTURES, 'l7etm-crop.tif');
    const source = (await readImageFile(scene)).raster; // 64 x 48, 6 bands
    const first = await cli('upscale', scene, '-o', output, '--grid', '24,4', '--json', ...MODEL);
    expect(first.code).toBe(0);
    expect(jsonLines(first.stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { cells: 6, resumedCells: 0, scale: 2 } });
    expect((await readdir(path.join(output, 'l7etm-crop'))).sort()).toEqual(['r0c0.tif', 'r0c1.tif', 'r0c2.tif', 'r1c0.tif', 'r1c1.tif', 'r1c2.tif']);
    const [x0, px, , y0, , py] = source.geo!.transform;
    const cell = (await readImageFile(path.join(output, 'l7etm-crop', 'r1c2.tif'))).raster;
    expect([cell.width, cell.height, cell.bands]).toEqual([(64 - 48) * 2, (48 - 24) * 2, 6]);
    expect(cell.geo!.transform[0]).toBeCloseTo(x0 + 48 * px, 6);
    expect(cell.geo!.transform[3]).toBeCloseTo(y0 + 24 * py, 6);
    expect(cell.geo!.transform[1]).toBeCloseTo(px / 2, 10);

    const vrt = await readFile(path.join(output, 'l7etm-crop.vrt'), 'utf8');
    expect(vrt).toContain('<VRTDataset rasterXSize="128" rasterYSize="96">');
    expect(vrt).toContain(`<SRS>EPSG:${source.geo!.epsg}</SRS>`);
    expect(vrt.match(/<VRTRasterBand /g)).toHaveLength(6);
    expect(vrt.match(/<SimpleSource>/g)).toHaveLength(36);
    expect(vrt).toContain('<SourceFilename relativeToVRT="1">l7etm-crop/r1c2.tif</SourceFilename>');
    expect(vrt).toContain('<DstRect xOff="96" yOff="48" xSize="32" ySize="48"/>');

    // A finished mosaic is skipped; without its index, only missing cells are computed again.
    const again = await cli('upscale', scene, '-o', output, '--grid', '24,4', '--json', '--resume', ...MODEL);
    expect(jsonLines(again.stdout).filter((e) => e.type === 'file-skip')).toHaveLength(1);
    await rm(path.join(output, 'l7etm-crop.vrt'));
    await rm(path.join(output, 'l7etm-crop', 'r0c1.tif'));
    const partial = await cli('upscale', scene, '-o', output, '--grid', '24,4', '--json', '--resume', ...MODEL);
    expect(jsonLines(partial.stdout).find((e) => e.type === 'file-done')).toMatchObject({ info: { cells: 6, resumedCells: 5 } });
    expect(await readFile(path.join(output, 'l7etm-crop.vrt'), 'utf8')).toBe(vrt);

    expect((await cli('upscale', scene, '-o', output, '--grid', '24', '--window', '0,0,8,8')).code).toBe(2);
    expect((await cli('upscale', scene, '-o', output, '--grid', '8')).code).toBe(2);
  });

  it('upscales only a window of a GeoTIFF, keeping its georeference at the window', async () => {
    const output = await tmp();
    const source = (await readImageFile(path.join(FIXTURES, 'l7etm-crop.tif'))).raster;
    const { code } = await cli('upscale', path.join(FIXTURES, 'l7etm-crop.tif'), '-o', path.join(output, 'part.tif'), '--window', '8,4,32,24', ...MODEL);
    expect(code).toBe(0);
    const part = (await readImageFile(path.join(output, 'part.tif'))).raster;
    expect([part.width, part.height, part.bands]).toEqual([64, 48, 6]);
    const [x0, px, , y0, , py] = source.geo!.transform;
    expect(part.geo!.transform[0]).toBeCloseTo(x0 + 8 * px, 6);
    expect(part.geo!.transform[3]).toBeCloseTo(y0 + 4 * py, 6);
    expect(part.geo!.transform[1]).toBeCloseTo(px / 2, 10);
    expect(part.geo!.epsg).toBe(source.geo!.epsg);
    const outside = await cli('upscale', path.join(FIXTURES, 'l7etm-crop.tif'), '-o', path.join(output, 'bad.tif'), '--window', '60,0,32,24', '--json', ...MODEL);
    expect(outside.code).toBe(1);
    expect(jsonLines(outside.stdout).find((e) => e.type === 'file-error')).toMatchObject({ code: 'INVALID_OPTION' });
    expect((await cli('upscale', path.join(FIXTURES, 'l7etm-crop.tif'), '-o', output, '--window', '1,2,3')).code).toBe(2);
  });

  it('upscales a folder, reports a bad file and goes on, and writes nothing for the bad one', async () => {
    const input = await tmp();
    const output = await tmp();
    await copyFile(path.join(FIXTURES, 'photo.png'), path.join(input, 'a.png'));
    await copyFile(path.join(FIXTURES, 'sp27gtif-crop.tif'), path.join(input, 'b.tif'));
    await writeFile(path.join(input, 'c.png'), Buffer.alloc(0));
    await writeFile(path.join(input, 'notes.txt'), 'not an image, not picked up from a folder');
    const { code, stdout } = await cli('upscale', input, '-o', output, '--json', ...MODEL);
    expect(code).toBe(1);
    const events = jsonLines(stdout);
    expect(events.filter((e) => e.type === 'file-done').map((e) => path.basename(e.file as string))).toEqual(['a.png', 'b.tif']);
    const failed = events.find((e) => e.type === 'file-error')!;
    expect([path.basename(failed.file as string), failed.code]).toEqual(['c.png', 'EMPTY_INPUT']);
    expect(events.at(-1)).toMatchObject({ type: 'summary', total: 3, succeeded: 2, failed: 1, skipped: 0 });
    expect((await readdir(output)).sort()).toEqual(['a.png', 'b.tif']);

    const geo = (await readImageFile(path.join(output, 'b.tif'))).raster;
    const source = (await readImageFile(path.join(input, 'b.tif'))).raster;
    expect([geo.width, geo.height]).toEqual([source.width * 2, source.height * 2]);
    expect(geo.geo!.epsg).toBe(26771);
    expect(geo.geo!.transform[1]).toBeCloseTo(source.geo!.transform[1] / 2, 10);

    const again = await cli('upscale', input, '-o', output, '--json', '--resume', ...MODEL);
    const skipped = jsonLines(again.stdout).filter((e) => e.type === 'file-skip').map((e) => path.basename(e.file as string));
    expect(skipped).toEqual(['a.png', 'b.tif']);
  });

  it('writes a single output file when given a file name', async () => {
    const output = path.join(await tmp(), 'big.png');
    const { code } = await cli('upscale', path.join(FIXTURES, 'gray16.png'), '-o', output, ...MODEL);
    expect(code).toBe(0);
    const { raster } = await readImageFile(output);
    expect([raster.width, raster.dtype, raster.bands]).toEqual([192, 'uint16', 1]);
  });

  it('refuses bad usage with exit 2 and bad options with their code', async () => {
    expect((await cli('upscale', path.join(FIXTURES, 'photo.png'))).code).toBe(2); // no -o
    const out = await tmp();
    const badSteps = await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', out, '--model', 'tiny-sr3-x2', '--steps', 'many');
    expect(badSteps.code).toBe(1);
    expect(badSteps.stderr).toContain('INVALID_OPTION');
    const badBands = await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', out, '--json', ...MODEL, '--bands', '0,1,7');
    expect(jsonLines(badBands.stdout).find((e) => e.type === 'file-error')).toMatchObject({ code: 'BAND_SELECTION_INVALID' });
    const unknownModel = await cli('upscale', path.join(FIXTURES, 'photo.png'), '-o', out, '--model', 'nope');
    expect(unknownModel.stderr).toContain('MODEL_NOT_FOUND');
    expect(await readdir(out)).toEqual([]);
  });

  it('stops on abort and leaves no output and no temporary file', async () => {
    const out = await tmp();
    const controller = new AbortController();
    let lines = '';
    const stdout = new Writable({
      write(chunk: Buffer, _e, done) {
        lines += chunk.toString();
        if (lines.includes('"kind":"step","step":2')) controller.abort();
        done();
      },
    });
    const stderr = new Writable({ write: (_c, _e, done) => done() });
    const code = await runCli(['upscale', path.join(FIXTURES, 'photo.png'), '-o', out, '--json', '--model', 'tiny-sr3-x2', '--steps', '30', '--tile', '32'], { stdout, stderr }, { signal: controller.signal });
    expect(code).toBe(1);
    expect(jsonLines(lines).find((e) => e.type === 'file-error')).toMatchObject({ code: 'ABORTED' });
    expect(await readdir(out)).toEqual([]);
  });
});
