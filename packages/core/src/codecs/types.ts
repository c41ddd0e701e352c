import type { DType, GeoInfo, Raster, Rect } from '../raster/types.js';
import type { MedicalInfo, Volume } from '../medical/types.js';

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp', 'tiff', 'geotiff', 'dicom', 'nifti'] as const;

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
  /** DICOM and NIfTI: slices along k (frames of a multi-frame DICOM); width and height are one slice's. */
  depth?: number;
  /** NIfTI: 3-D volumes in the file (more than 1 for fMRI, diffusion and other 4-D data; see DecodeOptions.volumeIndex). */
  volumes?: number;
  /** DICOM and NIfTI: the medical metadata, as the decoded volume will carry it. */
  medical?: MedicalInfo;
}

export interface DecodeOptions {
  /** Largest width x height accepted, checked from the header before any pixel is decoded. Default 2^27 (DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** Only this rectangle: read directly from a GeoTIFF, cropped after decoding for other formats. */
  window?: Rect;
  /**
   * NIfTI files with several 3-D volumes (fMRI time points, diffusion directions): which one to read, from 0. Required
   * for such files; any other input accepts only 0.
   */
  volumeIndex?: number;
  signal?: AbortSignal;
}

export interface DecodedImage {
  /** The image; for a DICOM or NIfTI volume, its first slice along k (the whole volume is in `volume`). */
  raster: Raster;
  format: ImageFormat;
  /** DICOM and NIfTI: every slice, with the medical metadata (also for a single slice, as a volume of depth 1). */
  volume?: Volume;
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
  /** NIfTI only: gzip the file (.nii.gz). Default: true unless the path ends in .nii. */
  gzip?: boolean;
  /** DICOM only: what produced the derived series, written to DerivationDescription and SeriesDescription. */
  derivation?: string;
}

export interface WriteImageFileOptions extends Omit<EncodeOptions, 'format'> {
  /** Defaults to the path's extension, then to the raster's source format. */
  format?: ImageFormat;
  signal?: AbortSignal;
}
