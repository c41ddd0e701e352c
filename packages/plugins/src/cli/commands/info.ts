import { readImageFileHeader } from '@diffusekit/core';
import { writeLine, type CliIo } from '../io.js';

/** Reads only what the header states: no pixel is decoded, so any size of image can be described. */
export async function infoCommand(files: readonly string[], flags: { json: boolean }, io: CliIo): Promise<number> {
  let failures = 0;
  for (const file of files) {
    try {
      const header = await readImageFileHeader(file);
      const { format } = header;
      const info = {
        file,
        format,
        width: header.width,
        height: header.height,
        bands: header.bands,
        dtype: header.dtype,
        nodata: header.nodata ?? null,
        bandNames: header.bandNames ?? null,
        georeference: header.geo
          ? {
              epsg: header.geo.epsg ?? null,
              ...(header.geo.wkt ? { wkt: header.geo.wkt } : {}),
              transform: header.geo.transform,
              pixelSize: [header.geo.transform[1], header.geo.transform[5]],
            }
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
        const crs = info.georeference.epsg ? `EPSG:${info.georeference.epsg}` : info.georeference.wkt ? `WKT ${info.georeference.wkt}` : 'unknown (no EPSG code or WKT)';
        writeLine(io.stdout, `  CRS         ${crs}`);
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
  const code = (error as { code?: string }).code ?? 'INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  if (json) writeLine(io.stdout, JSON.stringify({ file, error: { code, message } }));
  else writeLine(io.stderr, `${file}: ${code}: ${message}`);
}

