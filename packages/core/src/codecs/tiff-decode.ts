import { DiffusekitError, asDiffusekitError, throwIfAborted } from '../errors.js';
import { offsetGeo } from '../raster/crop-raster.js';
import { allocateSamples, arrayNameFor, isRepresentable, typedArrayKind } from '../raster/dtype.js';
import type { DType, Raster, Rect } from '../raster/types.js';
import { toExactArrayBuffer } from './input-bytes.js';
import { checkPixelLimit } from './limits.js';
import { decodeWithSharp, readSharpHeader } from './sharp-decode.js';
import { fieldNumbers, readTiffDirectory } from './tiff/directory.js';
import type { TiffDirectory } from './tiff/directory.js';
import { checkDeflateBlocks } from './tiff/deflate-guard.js';
import { readBandNames, readNodata } from './tiff/gdal-metadata.js';
import { readGeoInfo } from './tiff/georeference.js';
import { decodesWithSharp, describeTiff, tiffDType } from './tiff/layout.js';
import type { TiffLayout } from './tiff/layout.js';
import { Tag } from './tiff/tags.js';
import type { ImageHeader } from './types.js';
import { loadGeotiff } from './load-geotiff.js';

interface TiffPlan {
  directory: TiffDirectory;
  layout: TiffLayout;
  viaSharp: boolean;
}

function planTiff(view: Uint8Array): TiffPlan {
  const directory = readTiffDirectory(view);
  const layout = describeTiff(directory);
  return { directory, layout, viaSharp: decodesWithSharp(layout, fieldNumbers(directory, Tag.ExtraSamples)) };
}

/** The strip or tile arrays must describe data inside the file, or the decoder would read past the end. */
function checkBlocksInside(directory: TiffDirectory, length: number): void {
  const offsets = fieldNumbers(directory, Tag.TileOffsets) ?? fieldNumbers(directory, Tag.StripOffsets);
  const counts = fieldNumbers(directory, Tag.TileByteCounts) ?? fieldNumbers(directory, Tag.StripByteCounts);
  if (!offsets || !counts || offsets.length !== counts.length) {
    throw new DiffusekitError('DECODE_FAILED', 'The TIFF structure is corrupt: strip or tile offsets and byte counts are missing or disagree');
  }
  offsets.forEach((offset, i) => {
    if (offset + counts[i]! > length) {
      throw new DiffusekitError('DECODE_FAILED', `The TIFF data is truncated: block ${i} needs bytes ${offset}..${offset + counts[i]!} of a ${length}-byte file`);
    }
  });
}

export async function readTiffHeader(view: Uint8Array): Promise<ImageHeader> {
  const { directory, layout, viaSharp } = planTiff(view);
  if (viaSharp) return { ...(await readSharpHeader(view, 'tiff')), format: 'tiff' };
  const dtype = tiffDType(layout);
  return {
    format: layout.isGeo ? 'geotiff' : 'tiff',
    width: layout.width,
    height: layout.height,
    bands: layout.samples,
    dtype,
    ...tiffMetadata(directory, layout, dtype),
  };
}

/** Nodata, band names and georeference as stored in the directory. */
function tiffMetadata(directory: TiffDirectory, layout: TiffLayout, dtype: DType): Pick<ImageHeader, 'nodata' | 'bandNames' | 'geo'> {
  const out: Pick<ImageHeader, 'nodata' | 'bandNames' | 'geo'> = {};
  const nodata = readNodata(directory);
  // A GDAL_NODATA value the dtype cannot hold (e.g. -9999 on bytes) can never match a sample; it is dropped.
  if (nodata !== undefined && isRepresentable(nodata, dtype)) out.nodata = nodata;
  const bandNames = readBandNames(directory, layout.samples);
  if (bandNames) out.bandNames = bandNames;
  const geo = layout.isGeo ? readGeoInfo(directory) : undefined;
  if (geo) out.geo = geo;
  return out;
}

/** Reads one TIFF: plain pictures through sharp, everything else (GeoTIFF, int16, float32, > 4 bands) through geotiff.js. */
export async function decodeTiff(view: Uint8Array, maxPixels: number, window: Rect | undefined, signal: AbortSignal | undefined): Promise<Raster> {
  const { directory, layout, viaSharp } = planTiff(view);
  if (viaSharp) {
    const header = await readSharpHeader(view, 'tiff');
    return decodeWithSharp(view, header, maxPixels, window);
  }
  const dtype = tiffDType(layout);
  const rect = window ?? { x: 0, y: 0, width: layout.width, height: layout.height };
  checkPixelLimit(rect.width, rect.height, maxPixels, window ? 'The requested window' : 'The image');
  checkPixelLimit(Math.min(layout.block.width, layout.width), layout.block.height, maxPixels, 'One TIFF strip or tile');
  checkBlocksInside(directory, view.byteLength);
  checkDeflateBlocks(view, directory, layout, rect);

  let planes: ArrayLike<unknown>;
  try {
    const { fromArrayBuffer } = await loadGeotiff();
    const tiff = await fromArrayBuffer(toExactArrayBuffer(view), signal);
    const image = await tiff.getImage(0);
    planes = await image.readRasters({
      window: [rect.x, rect.y, rect.x + rect.width, rect.y + rect.height],
      interleave: false,
      ...(signal !== undefined && { signal }),
    });
  } catch (error) {
    throwIfAborted(signal);
    throw asDiffusekitError(error, 'DECODE_FAILED', `Could not decode the ${layout.isGeo ? 'GeoTIFF' : 'TIFF'} data`);
  }

  const plane = rect.width * rect.height;
  const data = allocateSamples(dtype, plane * layout.samples);
  for (let band = 0; band < layout.samples; band++) {
    const samples = planes[band] as ArrayLike<number> | undefined;
    if (!samples || samples.length !== plane || typedArrayKind(samples) !== arrayNameFor(dtype)) {
      throw new DiffusekitError('DECODE_FAILED', `The TIFF decoder returned unexpected data for band ${band} (${typedArrayKind(samples) ?? 'nothing'})`);
    }
    data.set(samples as never, band * plane);
  }

  const raster: Raster = { width: rect.width, height: rect.height, bands: layout.samples, dtype, data, sourceFormat: layout.isGeo ? 'geotiff' : 'tiff' };
  const { nodata, bandNames, geo } = tiffMetadata(directory, layout, dtype);
  if (nodata !== undefined) raster.nodata = nodata;
  if (bandNames) raster.bandNames = bandNames;
  if (geo) raster.geo = offsetGeo(geo, rect.x, rect.y);
  return raster;
}
