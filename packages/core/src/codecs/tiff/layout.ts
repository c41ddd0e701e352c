import { DiffusekitError } from '../../errors.js';
import type { DType } from '../../raster/types.js';
import { fieldNumber, fieldNumbers } from './directory.js';
import type { TiffDirectory } from './directory.js';
import { GEO_TAGS, Tag } from './tags.js';

const PHOTOMETRIC_MIN_IS_WHITE = 0;
const PHOTOMETRIC_MIN_IS_BLACK = 1;
const PHOTOMETRIC_RGB = 2;
const PHOTOMETRIC_PALETTE = 3;
const PHOTOMETRIC_CMYK = 5;
const PHOTOMETRIC_YCBCR = 6;
const EXTRA_SAMPLE_ASSOCIATED_ALPHA = 1;
const EXTRA_SAMPLE_UNASSOCIATED_ALPHA = 2;

/** What the first directory says about the pixels, before any of them is read. */
export interface TiffLayout {
  width: number;
  height: number;
  samples: number;
  bitsPerSample: number;
  /** 1 unsigned integer, 2 signed integer, 3 IEEE float. */
  sampleFormat: number;
  photometric: number | undefined;
  /** Size of one strip or tile, the unit a reader has to decode at once. */
  block: { width: number; height: number };
  isGeo: boolean;
}

export function describeTiff(directory: TiffDirectory): TiffLayout {
  const width = fieldNumber(directory, Tag.ImageWidth);
  const height = fieldNumber(directory, Tag.ImageLength);
  if (!width || !height) {
    throw new DiffusekitError('DECODE_FAILED', 'The TIFF structure is corrupt: the first image has no width or height');
  }
  const samples = fieldNumber(directory, Tag.SamplesPerPixel) ?? 1;
  const bits = fieldNumbers(directory, Tag.BitsPerSample) ?? [1];
  const formats = fieldNumbers(directory, Tag.SampleFormat) ?? [1];
  if (new Set(bits).size > 1 || new Set(formats).size > 1) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `TIFF bands of mixed types are not supported (BitsPerSample ${bits.join('/')}, SampleFormat ${formats.join('/')}); accepted: every band of one type`);
  }
  const tileWidth = fieldNumber(directory, Tag.TileWidth);
  const tileLength = fieldNumber(directory, Tag.TileLength);
  const rowsPerStrip = Math.min(fieldNumber(directory, Tag.RowsPerStrip) ?? height, height);
  return {
    width,
    height,
    samples,
    bitsPerSample: bits[0]!,
    sampleFormat: formats[0]!,
    photometric: fieldNumber(directory, Tag.Photometric),
    block: tileWidth && tileLength ? { width: tileWidth, height: tileLength } : { width, height: rowsPerStrip },
    isGeo: GEO_TAGS.some((tag) => directory.fields.has(tag)),
  };
}

/** The raster dtype for the layout's samples, or UNSUPPORTED_FORMAT naming what the file holds and what is accepted. */
export function tiffDType(layout: TiffLayout): DType {
  const { bitsPerSample: bits, sampleFormat: format } = layout;
  if (format === 1 && bits === 8) return 'uint8';
  if (format === 1 && bits === 16) return 'uint16';
  if (format === 2 && bits === 16) return 'int16';
  if (format === 3 && bits === 32) return 'float32';
  const kind = format === 1 ? 'unsigned integer' : format === 2 ? 'signed integer' : format === 3 ? 'float' : `sample format ${format}`;
  throw new DiffusekitError(
    'UNSUPPORTED_FORMAT',
    `TIFF samples of ${bits}-bit ${kind} are not supported; accepted: 8/16-bit unsigned, 16-bit signed, 32-bit float`,
    { details: { bitsPerSample: bits, sampleFormat: format } },
  );
}

/**
 * Plain picture TIFFs (grey, grey+alpha, RGB, RGBA, palette, CMYK, YCbCr at 8 or 16 bits; bilevel and 2/4-bit grey or
 * palette) go through sharp/libvips, which knows every picture compression. Everything else, and every GeoTIFF, is read by geotiff.js as raw samples.
 */
export function decodesWithSharp(layout: TiffLayout, extraSamples: readonly number[] | undefined): boolean {
  if (layout.isGeo || layout.sampleFormat !== 1) return false;
  if (layout.bitsPerSample < 8) {
    // Bilevel and 2/4-bit grey or palette pictures (scans, faxes): libvips expands them to 8 bits.
    const { photometric } = layout;
    return layout.samples === 1 && (photometric === PHOTOMETRIC_MIN_IS_WHITE || photometric === PHOTOMETRIC_MIN_IS_BLACK || photometric === PHOTOMETRIC_PALETTE);
  }
  if (layout.bitsPerSample !== 8 && layout.bitsPerSample !== 16) return false;
  const alpha = extraSamples?.[0] === EXTRA_SAMPLE_ASSOCIATED_ALPHA || extraSamples?.[0] === EXTRA_SAMPLE_UNASSOCIATED_ALPHA;
  switch (layout.photometric) {
    case PHOTOMETRIC_MIN_IS_BLACK:
      return layout.samples === 1 || (layout.samples === 2 && alpha);
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_YCBCR:
      return layout.samples === 3 || layout.samples === 4;
    case PHOTOMETRIC_PALETTE:
      return layout.samples === 1 && layout.bitsPerSample === 8;
    case PHOTOMETRIC_CMYK:
      return layout.samples === 4 || layout.samples === 5;
    default:
      return false;
  }
}
