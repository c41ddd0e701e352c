import { readImageFileHeader, type MedicalInfo } from '@diffusekit/core';
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
        ...(header.medical ? { depth: header.depth ?? 1, ...(header.volumes !== undefined ? { volumes: header.volumes } : {}), medical: medicalSummary(header.medical) } : {}),
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
      if (info.medical) {
        const m = info.medical;
        writeLine(io.stdout, `  slices      ${info.depth}${m.transferSyntax ? `  (transfer syntax ${m.transferSyntax})` : ''}`);
        if (info.volumes !== undefined && info.volumes > 1) writeLine(io.stdout, `  volumes     ${info.volumes}  (dim ${m.dim?.slice(4, (m.dim[0] ?? 3) + 1).join(' x ')}; pick one with --volume N)`);
        if (m.modality || m.photometric) writeLine(io.stdout, `  modality    ${[m.modality, m.photometric].filter(Boolean).join(', ')}`);
        writeLine(io.stdout, `  spacing     ${m.spacing.join(' x ')} mm${m.sliceThickness !== null ? ` (slice thickness ${m.sliceThickness} mm)` : ''}`);
        if (m.rescale) writeLine(io.stdout, `  rescale     slope ${m.rescale.slope}, intercept ${m.rescale.intercept}`);
        if (m.window) writeLine(io.stdout, `  window      centre ${m.window.center}, width ${m.window.width}`);
        if (m.orientation) writeLine(io.stdout, `  orientation ${m.orientation.join(', ')}  position ${m.position?.join(', ') ?? 'unknown'}`);
        writeLine(io.stdout, `  affine      ${[0, 1, 2].map((r) => m.affine.slice(r * 4, r * 4 + 4).map((v) => +v.toFixed(4)).join(' ')).join(' | ')}  (${m.coordinates})`);
        if (m.qform) writeLine(io.stdout, `  qform (${m.qformCode}) ${[0, 1, 2].map((r) => m.qform!.slice(r * 4, r * 4 + 4).map((v) => +v.toFixed(4)).join(' ')).join(' | ')}`);
        if (m.sform) writeLine(io.stdout, `  sform (${m.sformCode}) ${[0, 1, 2].map((r) => m.sform!.slice(r * 4, r * 4 + 4).map((v) => +v.toFixed(4)).join(' ')).join(' | ')}`);
        continue;
      }
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


/** What the affine maps into. A NIfTI without qform or sform (as every ANALYZE 7.5 file is read) states voxel sizes only. */
function coordinatesOf(m: MedicalInfo): string {
  if (m.format === 'dicom') return 'LPS (DICOM patient)';
  if (m.nifti && m.nifti.qformCode === 0 && m.nifti.sformCode === 0) return 'voxel sizes only (no qform or sform: orientation not stated)';
  return 'RAS (NIfTI world)';
}

/** What `info` shows of a DICOM or NIfTI header: the metadata users check, not the copied DICOM data sets. */
function medicalSummary(m: MedicalInfo) {
  return {
    modality: m.modality ?? null,
    photometric: m.photometric ?? null,
    rescale: m.rescale ?? null,
    window: m.window ?? null,
    spacing: m.spacing,
    sliceThickness: m.sliceThickness ?? null,
    affine: m.affine,
    coordinates: coordinatesOf(m),
    ...(m.dicom
      ? {
          transferSyntax: m.dicom.transferSyntax,
          orientation: m.dicom.orientation ?? null,
          position: m.dicom.positions?.[0] ?? null,
          studyInstanceUid: m.dicom.studyInstanceUid ?? null,
          seriesInstanceUid: m.dicom.seriesInstanceUid ?? null,
        }
      : {}),
    ...(m.nifti
      ? { niftiVersion: m.nifti.version, dim: m.nifti.dim, pixdim: m.nifti.pixdim, qformCode: m.nifti.qformCode, sformCode: m.nifti.sformCode, qform: m.nifti.qform ?? null, sform: m.nifti.sform ?? null }
      : {}),
  };
}
