import type { DType, RasterData } from '../raster/types.js';

/** Voxel axes of a volume: 0 = i (columns), 1 = j (rows), 2 = k (slices, the acquisition axis). */
export type VolumeAxis = 0 | 1 | 2;

/** A 4x4 matrix, row-major, mapping voxel indices (i, j, k, 1) of voxel centres to millimetres. */
export type Affine = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** What DICOM states about the slices, kept so that a derived series can be written with the same identity. */
export interface DicomInfo {
  /** Transfer syntax UID of the source (the pixels were decoded from it). */
  transferSyntax: string;
  /** 'multiframe' for one file with NumberOfFrames slices; 'series' for one file per slice. */
  layout: 'multiframe' | 'series';
  sopClassUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  /** DICOM ImageOrientationPatient: row direction cosines then column direction cosines (LPS). */
  orientation?: number[];
  /** DICOM ImagePositionPatient of every slice, in slice order. */
  positions?: number[][];
  imageType?: string[];
  /**
   * The naturalised data set of every source file (pixel data removed), in slice order: the writer copies patient,
   * study and equipment attributes from them. One entry for a multi-frame file.
   */
  datasets: Record<string, unknown>[];
}

/** What a NIfTI-1 or NIfTI-2 header states beside the voxels. */
export interface NiftiInfo {
  /** The header version read (volumes are always written as NIfTI-1). */
  version: 1 | 2;
  /** dim[0..7] as stored. */
  dim: number[];
  /** 3-D volumes in the file: the product of dim[4..dim[0]] (time points, diffusion directions, ...); 1 for a 3-D image. */
  volumes: number;
  /** Of a file with several volumes: the one decoded (0-based, storage order). Written output holds that volume alone. */
  volumeIndex?: number;
  /** pixdim[0..7] as stored (pixdim[0] is qfac). */
  pixdim: number[];
  datatype: number;
  qformCode: number;
  sformCode: number;
  /** The qform as a voxel-to-mm matrix (from the quaternion, offsets and pixdim), when qform_code > 0. */
  qform?: Affine;
  /** srow_x, srow_y, srow_z and 0 0 0 1, when sform_code > 0. */
  sform?: Affine;
  /** The quaternion (b, c, d) and qfac, so that a written qform keeps the source's rotation exactly. */
  quaternion?: { b: number; c: number; d: number; qfac: number };
  xyztUnits: number;
  description: string;
}

/**
 * Medical metadata of a volume (and of each of its slices). Samples stay as stored; `rescale` turns them into real
 * values (Hounsfield units for CT): real = stored * slope + intercept.
 */
export interface MedicalInfo {
  format: 'dicom' | 'nifti';
  /** Voxels along i, j, k. */
  dims: [number, number, number];
  /** Voxel size along i, j, k in mm (DICOM: column spacing, row spacing, slice spacing; NIfTI: pixdim[1..3]). */
  spacing: [number, number, number];
  /** Voxel centres (i, j, k) to millimetres: DICOM patient coordinates (LPS), NIfTI world coordinates (RAS). */
  affine: Affine;
  rescale?: { slope: number; intercept: number };
  window?: { center: number; width: number };
  photometric?: string;
  modality?: string;
  sliceThickness?: number;
  /**
   * Smallest and largest stored value over the whole volume: the recorded mapping into a model's range, shared by
   * every slice so that slices agree with each other and no value is clipped.
   */
  valueRange?: [number, number];
  /** For a slice cut from a volume: the axis it is perpendicular to and its index along that axis. */
  slice?: { axis: VolumeAxis; index: number };
  dicom?: DicomInfo;
  nifti?: NiftiInfo;
}

/**
 * A 3-D grid: i varies fastest, then j, then k (NIfTI's order; a DICOM series is slices along k). A colour volume
 * (colour DICOM, decoded to RGB) has `bands` 3 and stores each slice along k as its bands one after another (planar, as
 * a Raster does): sample (i, j, k, band) is at ((k * bands + band) * height + j) * width + i.
 */
export interface Volume {
  width: number;
  height: number;
  depth: number;
  /** Samples per voxel: 1 (absent) for grey images, 3 for RGB. */
  bands?: number;
  dtype: DType;
  data: RasterData;
  medical: MedicalInfo;
}

/** What a volume's header states, without its voxels. */
export interface VolumeHeader {
  format: 'dicom' | 'nifti';
  width: number;
  height: number;
  depth: number;
  /** 3 for a colour image (decoded to RGB); absent for one band. */
  bands?: number;
  dtype: DType;
  medical: MedicalInfo;
}
