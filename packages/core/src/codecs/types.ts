import type { DType, GeoInfo, Raster, Rect } from '../raster/types.js';

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp', 'tiff', 'geotiff'] as const;

/** 'geotiff' is a TIFF that carries georeferencing tags; 'tiff' is one that does not. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Encoded image bytes as Node and browsers hand them over. */
export type ImageBytes = Uint8Array | ArrayBuffer;

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** Bands the decoded raster will have (alpha counts as a band). */
  bands: number;
  dtype: DType;
  /** What the file states beside the pixels (TIFF and GeoTIFF), exactly as the decoded raster will carry it. */
  nodata?: number;
  bandNames?: string[];
  geo?: GeoInfo;
}

export interface DecodeOptions {
  /** Largest width x height accepted, checked from the header before any pixel is decoded. Default 2^27 (DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** Only this rectangle: read directly from a GeoTIFF, cropped after decoding for other formats. */
  window?: Rect;
  signal?: AbortSignal;
}

export interface DecodedImage {
  raster: Raster;
  format: ImageFormat;
}

export type TiffCompression = 'none' | 'deflate';

export interface EncodeOptions {
  format: ImageFormat;
  /** JPEG and WebP quality, 1..100 (default 90). */
  quality?: number;
  /** WebP only: store exactly (default false). */
  lossless?: boolean;
  /** TIFF and GeoTIFF only (default 'deflate'). */
  compression?: TiffCompression;
  /** TIFF and GeoTIFF only: 'pixel' (chunky, default) or 'band' (planar) sample order. */
  interleave?: 'pixel' | 'band';
  /**
   * 8 writes a uint16 raster as 8 bits (value / 257, rounded); 16 keeps 16 bits (the default for uint16, and the only
   * depth JPEG and WebP refuse).
   */
  bitDepth?: 8 | 16;
}

export interface WriteImageFileOptions extends Omit<EncodeOptions, 'format'> {
  /** Defaults to the path's extension, then to the raster's source format. */
  format?: ImageFormat;
  signal?: AbortSignal;
}
