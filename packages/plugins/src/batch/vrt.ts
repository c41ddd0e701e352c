import type { DType, Raster } from '@diffusekit/core';

/** One file of a mosaic, placed at (x, y) in the mosaic's pixels. */
export interface MosaicCell {
  /** Path relative to the VRT file. */
  file: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What every cell shares (bands, sample type, nodata, band names) and the georeference of the mosaic's origin. */
export type MosaicLayout = Pick<Raster, 'bands' | 'dtype' | 'nodata' | 'bandNames' | 'geo'>;

const VRT_TYPES: Record<DType, string> = { uint8: 'Byte', uint16: 'UInt16', int16: 'Int16', float32: 'Float32' };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A GDAL virtual raster (VRT) that shows the cells as one width x height image: GDAL, QGIS and rasterio open it like
 * any raster. The georeference is the layout's (that of the cell at the origin), with its CRS as EPSG code or WKT.
 */
export function mosaicVrt(width: number, height: number, first: MosaicLayout, cells: readonly MosaicCell[]): string {
  const lines = [`<VRTDataset rasterXSize="${width}" rasterYSize="${height}">`];
  const geo = first.geo;
  if (geo) {
    const srs = geo.epsg !== undefined ? `EPSG:${geo.epsg}` : geo.wkt;
    if (srs) lines.push(`  <SRS>${escapeXml(srs)}</SRS>`);
    lines.push(`  <GeoTransform>${geo.transform.map((v) => v.toPrecision(17)).join(', ')}</GeoTransform>`);
  }
  for (let band = 0; band < first.bands; band++) {
    lines.push(`  <VRTRasterBand dataType="${VRT_TYPES[first.dtype]}" band="${band + 1}">`);
    if (first.nodata !== undefined) lines.push(`    <NoDataValue>${first.nodata}</NoDataValue>`);
    if (first.bandNames?.[band]) lines.push(`    <Description>${escapeXml(first.bandNames[band]!)}</Description>`);
    for (const cell of cells) {
      const { width: w, height: h } = cell;
      lines.push(
        '    <SimpleSource>',
        `      <SourceFilename relativeToVRT="1">${escapeXml(cell.file.split('\\').join('/'))}</SourceFilename>`,
        `      <SourceBand>${band + 1}</SourceBand>`,
        `      <SrcRect xOff="0" yOff="0" xSize="${w}" ySize="${h}"/>`,
        `      <DstRect xOff="${cell.x}" yOff="${cell.y}" xSize="${w}" ySize="${h}"/>`,
        '    </SimpleSource>',
      );
    }
    lines.push('  </VRTRasterBand>');
  }
  lines.push('</VRTDataset>', '');
  return lines.join('\n');
}
