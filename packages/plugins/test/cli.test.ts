import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pngClaimingSize } from '../../../test/fixtures/helpers.js';
import { FIXTURES, cli, jsonLines } from './cli-helpers.js';

describe('diffusekit info', () => {
  it('describes a GeoTIFF with its georeference', async () => {
    const { code, stdout } = await cli('info', '--json', path.join(FIXTURES, 'sp27gtif-crop.tif'));
    expect(code).toBe(0);
    const [info] = jsonLines(stdout);
    expect(info).toMatchObject({ format: 'geotiff', width: 96, height: 80, bands: 1, dtype: 'uint8' });
    expect((info!.georeference as { epsg: number }).epsg).toBe(26771);
  });

  it('keeps going after a bad file and exits 1 with the error code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-cli-'));
    const bad = path.join(dir, 'bad.png');
    await writeFile(bad, Buffer.from('not an image at all'));
    const { code, stdout } = await cli('info', '--json', bad, path.join(FIXTURES, 'l7etm-crop.tif'));
    expect(code).toBe(1);
    const [first, second] = jsonLines(stdout);
    expect((first!.error as { code: string }).code).toBe('UNSUPPORTED_FORMAT');
    expect(second).toMatchObject({ bands: 6, dtype: 'uint8', format: 'geotiff' });
  });

  it('describes an image of any size from its header alone, which decoding refuses', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-cli-'));
    const huge = path.join(dir, 'huge.png');
    await writeFile(huge, pngClaimingSize(100000, 100000));
    const { code, stdout } = await cli('info', '--json', huge);
    expect(code).toBe(0);
    expect(jsonLines(stdout)[0]).toMatchObject({ format: 'png', width: 100000, height: 100000 });
    const upscale = await cli('upscale', '--json', huge, '-o', path.join(dir, 'out.png'));
    expect(upscale.code).toBe(1);
    expect(upscale.stdout).toContain('IMAGE_TOO_LARGE');
  });

  it('prints a readable summary for people', async () => {
    const { code, stdout } = await cli('info', path.join(FIXTURES, 'gray16.png'));
    expect(code).toBe(0);
    expect(stdout).toContain('96 x 80, 1 band, uint16');
  });
});

describe('diffusekit usage', () => {
  it('exits 2 on an unknown command, listing the known ones', async () => {
    const { code, stderr } = await cli('upscal');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "upscal". Should be one of:');
  });

  it('exits 2 on an unknown flag and on a missing argument', async () => {
    expect((await cli('info', '--colour', 'x.png')).code).toBe(2);
    expect((await cli('info')).code).toBe(2);
  });

  it('refuses to serve ensembles from a folder that does not exist', async () => {
    const { code, stderr } = await cli('serve', '--ensembles', path.join(tmpdir(), 'no-such-ensembles'));
    expect(code).toBe(2);
    expect(stderr).toContain('--ensembles');
  });

  it('lists models as JSON', async () => {
    const { code, stdout } = await cli('models', '--json');
    expect(code).toBe(0);
    expect(Array.isArray(jsonLines(stdout)[0]!.models)).toBe(true);
  });
});
