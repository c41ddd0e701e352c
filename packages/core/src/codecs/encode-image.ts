import { DiffusekitError, invalidOption } from '../errors.js';
import { checkRaster } from '../raster/create-raster.js';
import type { Raster } from '../raster/types.js';
import { encodeWithSharp } from './sharp-encode.js';
import { geoFields } from './tiff/georeference.js';
import { writeTiff } from './tiff/write-tiff.js';
import { IMAGE_FORMATS } from './types.js';
import { encodeVolume, rasterAsVolume } from '../medical/codec.js';
import type { EncodeOptions, ImageFormat } from './types.js';

const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', tiff: 'TIFF', geotiff: 'GeoTIFF', dicom: 'DICOM', nifti: 'NIfTI' };

/** What each format stores; TIFF and GeoTIFF store every raster. */
const CAPABILITIES: Partial<Record<ImageFormat, { bands: readonly number[]; dtypes: readonly string[] }>> = {
  png: { bands: [1, 2, 3, 4], dtypes: ['uint8', 'uint16'] },
  jpeg: { bands: [1, 3], dtypes: ['uint8'] },
  webp: { bands: [3, 4], dtypes: ['uint8'] },
  dicom: { bands: [1], dtypes: ['uint8', 'uint16', 'int16'] },
  nifti: { bands: [1], dtypes: ['uint8', 'uint16', 'int16', 'float32'] },
};

function checkEncodeOptions(options: EncodeOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', "an object with a format, e.g. { format: 'png' }", options);
  if (!IMAGE_FORMATS.includes(options.format)) throw invalidOption('format', `one of ${IMAGE_FORMATS.join(', ')}`, options.format);
  const { quality, lossless, compression, interleave, bitDepth } = options;
  if (quality !== undefined && (!Number.isInteger(quality) || quality < 1 || quality > 100)) throw invalidOption('quality', 'an integer from 1 to 100', quality);
  if (lossless !== undefined && typeof lossless !== 'boolean') throw invalidOption('lossless', 'a boolean', lossless);
  if (compression !== undefined && compression !== 'none' && compression !== 'deflate') throw invalidOption('compression', "'none' or 'deflate'", compression);
  if (interleave !== undefined && interleave !== 'pixel' && interleave !== 'band') throw invalidOption('interleave', "'pixel' or 'band'", interleave);
  if (bitDepth !== undefined && bitDepth !== 8 && bitDepth !== 16) throw invalidOption('bitDepth', '8 or 16', bitDepth);
  if (options.gzip !== undefined && typeof options.gzip !== 'boolean') throw invalidOption('gzip', 'a boolean', options.gzip);
  if (options.derivation !== undefined && typeof options.derivation !== 'string') throw invalidOption('derivation', 'a string', options.derivation);
}

/** uint16 to uint8 (value / 257, rounded) or uint8 to uint16 (value * 257) when bitDepth asks for the other depth. */
function withBitDepth(raster: Raster, bitDepth: 8 | 16 | undefined): Raster {
  if (bitDepth === undefined) return raster;
  if (raster.dtype !== 'uint8' && raster.dtype !== 'uint16') {
    throw invalidOption('bitDepth', 'no value for int16 and float32 rasters (it converts between uint8 and uint16)', bitDepth);
  }
  if (bitDepth === 8 && raster.dtype === 'uint16') {
    const data = new Uint8Array(raster.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.round(raster.data[i]! / 257);
    const converted: Raster = { ...raster, dtype: 'uint8', data };
    if (raster.nodata !== undefined) converted.nodata = Math.round(raster.nodata / 257);
    return converted;
  }
  if (bitDepth === 16 && raster.dtype === 'uint8') {
    const data = new Uint16Array(raster.data.length);
    for (let i = 0; i < data.length; i++) data[i] = raster.data[i]! * 257;
    const converted: Raster = { ...raster, dtype: 'uint16', data };
    if (raster.nodata !== undefined) converted.nodata = raster.nodata * 257;
    return converted;
  }
  return raster;
}

function checkCapability(raster: Raster, format: ImageFormat): void {
  const capability = CAPABILITIES[format];
  if (!capability) return;
  if (capability.bands.includes(raster.bands) && capability.dtypes.includes(raster.dtype)) return;
  const sixteenBitHint = raster.dtype === 'uint16' && capability.dtypes.length === 1 ? ' (pass bitDepth: 8 to reduce uint16 to 8 bits)' : '';
  throw new DiffusekitError(
    'ENCODE_FAILED',
    `${FORMAT_NAMES[format]} cannot store ${raster.bands} band(s) of ${raster.dtype}; accepted: ${capability.bands.join('/')} band(s) of ${capability.dtypes.join(' or ')}${sixteenBitHint}. ` +
      `Select bands with selectBands, or use 'tiff' / 'geotiff', which store any raster.`,
    { details: { format, bands: raster.bands, dtype: raster.dtype, accepted: capability } },
  );
}

/** A plain TIFF goes through sharp when sharp can hold it whole; nodata, band names and other dtypes need our writer. */
function tiffFitsSharp(raster: Raster, options: EncodeOptions): boolean {
  const picture = raster.bands <= 4 && (raster.dtype === 'uint8' || raster.dtype === 'uint16');
  return picture && raster.nodata === undefined && raster.bandNames === undefined && options.interleave !== 'band';
}

/**
 * Encodes a raster. PNG keeps 8 or 16 bits and 1-4 bands (alpha included); JPEG takes 1 or 3 bands of uint8, WebP 3 or
 * 4; TIFF and GeoTIFF take any raster, and GeoTIFF also writes the georeference, CRS keys, nodata and band names.
 */
export async function encodeImage(raster: Raster, options: EncodeOptions): Promise<Buffer> {
  checkEncodeOptions(options);
  checkRaster(raster);
  const source = withBitDepth(raster, options.bitDepth);
  const { format } = options;
  checkCapability(source, format);
  if (format === 'dicom' || format === 'nifti') {
    // One slice: a volume of depth 1 (a whole volume is written with encodeVolume / writeVolumeFile).
    return encodeVolume(rasterAsVolume(source, format), { format, ...(options.gzip !== undefined ? { gzip: options.gzip } : {}), ...(options.derivation ? { derivation: options.derivation } : {}) })[0]!;
  }
  if (format === 'png' || format === 'jpeg' || format === 'webp' || (format === 'tiff' && tiffFitsSharp(source, options))) {
    return encodeWithSharp(source, format, options);
  }
  try {
    const bytes = writeTiff(source, {
      compression: options.compression ?? 'deflate',
      interleave: options.interleave ?? 'pixel',
      ...(format === 'geotiff' && source.geo !== undefined && { extraFields: geoFields(source.geo) }),
    });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    if (error instanceof DiffusekitError) throw error;
    throw new DiffusekitError('ENCODE_FAILED', `Could not encode the raster as ${FORMAT_NAMES[format]}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
