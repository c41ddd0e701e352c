import { readImageFile } from '@diffusekit/core';
import { writeLine, type CliIo } from '../io.js';

export async function infoCommand(files: readonly string[], flags: { json: boolean; maxPixels?: number }, io: CliIo): Promise<number> {
  let failures = 0;
  for (const file of files) {
    try {
      const { raster, format } = await readImageFile(file, flags.maxPixels === undefined ? {} : { maxPixels: flags.maxPixels });
      const info = {
        file,
        format,
        width: raster.width,
        height: raster.height,
        bands: raster.bands,
        dtype: raster.dtype,
        nodata: raster.nodata ?? null,
        bandNames: raster.bandNames ?? null,
        georeference: raster.geo
          ? { epsg: raster.geo.epsg ?? null, transform: raster.geo.transform, pixelSize: [raster.geo.transform[1], raster.geo.transform[5]] }
          : null,
      };
      if (flags.json) {
        writeLine(io.stdout, JSON.stringify(info));
        continue;
      }
      writeLine(io.stdout, `${file}`);
      writeLine(io.stdout, `  format      ${format}`);
      writeLine(io.stdout, `  size        ${info.width} x ${info.height}, ${info.bands} band${info.bands === 1 ? '' : 's'}, ${info.dtype}`);
      if (info.bandNames) writeLine(io.stdout, `  band names  ${info.bandNames.join(', ')}`);
      writeLine(io.stdout, `  nodata      ${info.nodata ?? 'none'}`);
      if (info.georeference) {
        const [x0, , , y0] = info.georeference.transform;
        writeLine(io.stdout, `  CRS         ${info.georeference.epsg ? `EPSG:${info.georeference.epsg}` : 'unknown (no EPSG code)'}`);
        writeLine(io.stdout, `  origin      ${x0}, ${y0}`);
        writeLine(io.stdout, `  pixel size  ${info.georeference.pixelSize[0]}, ${info.georeference.pixelSize[1]}`);
      } else {
        writeLine(io.stdout, '  georef      none');
      }
    } catch (error) {
      failures++;
      reportFileError(file, error, flags.json, io);
    }
  }
  return failures === 0 ? 0 : 1;
}

export function reportFileError(file: string, error: unknown, json: boolean, io: CliIo): void {
  const code = (error as { code?: string }).code ?? 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  if (json) writeLine(io.stdout, JSON.stringify({ file, error: { code, message } }));
  else writeLine(io.stderr, `${file}: ${code}: ${message}`);
}
