import type { ImageFormat } from '../codecs/types.js';
import type { MedicalInfo } from '../medical/types.js';

export type DType = 'uint8' | 'uint16' | 'int16' | 'float32';

/** The typed array that holds each dtype's samples. */
export interface DTypeArrays {
  uint8: Uint8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  float32: Float32Array;
}

export type RasterData = DTypeArrays[DType];

/** GDAL-order affine geotransform: originX, pixelWidth, rowRotation, originY, colRotation, pixelHeight. */
export type GeoTransform = [number, number, number, number, number, number];

/**
 * One GeoTIFF geo key as stored in the file. The storage kind is kept because the same number means different things
 * as an inline SHORT and as a DOUBLE parameter, and an exact round trip has to write it back the same way.
 */
export type GeoKey =
  | { id: number; type: 'short'; values: number[] }
  | { id: number; type: 'double'; values: number[] }
  | { id: number; type: 'ascii'; value: string };

/** The GeoKeyDirectory of a GeoTIFF: header revision numbers and every key, in file order. */
export interface GeoKeyDirectory {
  version: number;
  revision: number;
  minorRevision: number;
  keys: GeoKey[];
}

export interface GeoInfo {
  transform: GeoTransform;
  /** EPSG code of the coordinate reference system when the file names one (user-defined systems have none). */
  epsg?: number;
  /** Well-known text of the CRS when the caller knows it; GeoTIFF itself stores geo keys, not WKT. */
  wkt?: string;
  /** The raw geo keys read from a GeoTIFF, written back unchanged so that the CRS survives a round trip exactly. */
  geoKeys?: GeoKeyDirectory;
}

/**
 * An image or multi-band grid. Samples are PLANAR (band-major): band b, pixel (x, y) is at
 * `b * width * height + y * width + x`.
 */
export interface Raster {
  width: number;
  height: number;
  bands: number;
  dtype: DType;
  data: RasterData;
  /** Sample value that marks "no data" in every band. */
  nodata?: number;
  geo?: GeoInfo;
  /** One name per band (GeoTIFF band descriptions). */
  bandNames?: string[];
  /** The format the raster was decoded from; writeImageFile uses it when neither option nor extension decides. */
  sourceFormat?: ImageFormat;
  /** For rasters decoded from a JPEG: the quality factor estimated from its quantisation tables (1..100). */
  sourceQuality?: number;
  /**
   * For a window of a larger image (a window read, a crop): the pixel of that image at this raster's top-left corner.
   * Diffusion tasks draw the noise of the larger image at these pixels, so windows of one image sampled apart agree
   * with each other and with a run over the whole image wherever the models' context allows.
   */
  origin?: { x: number; y: number };
  /**
   * For DICOM and NIfTI: rescale, window, modality, spacing, orientation and the affine of the volume this raster is
   * a slice of (`medical.slice` says which). Tasks keep it and scale its in-plane spacing with the image.
   */
  medical?: MedicalInfo;
}

/** A pixel rectangle; x and y are the top-left corner. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
