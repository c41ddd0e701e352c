import { DiffusekitError, invalidOption } from '../errors.js';
import type { Raster } from '../raster/types.js';
import { decodeDicom, encodeDicom, isDicom, readDicomHeader } from './dicom.js';
import { chooseNiftiVolume, decodeNifti, encodeNifti, readNiftiHeader, type NiftiDecodeOptions } from './nifti.js';
import type { Affine, MedicalInfo, Volume, VolumeHeader } from './types.js';
import { inPlaneAxes, valueRangeOf, voxelToWorld } from './volume.js';

/** The header of a DICOM file or NIfTI volume (the caller has detected which), without voxels. */
export function readVolumeHeader(view: Uint8Array): VolumeHeader {
  return isDicom(view) ? readDicomHeader(view) : readNiftiHeader(view);
}

/**
 * Decodes a DICOM file or NIfTI volume (the caller has detected which); of a NIfTI file with several 3-D volumes, the
 * one `volumeIndex` names. A DICOM file is one volume: it accepts volumeIndex 0 only.
 */
export async function decodeVolume(view: Uint8Array, maxPixels: number, options: NiftiDecodeOptions = {}): Promise<Volume> {
  if (isDicom(view)) {
    checkSingleVolume(options.volumeIndex, 'a DICOM file');
    return decodeDicom(view, maxPixels);
  }
  return decodeNifti(view, maxPixels, options);
}

/**
 * Checks `volumeIndex` against what a header states, before any voxel is read: of a NIfTI file with several volumes one
 * must be named; every other input holds one volume (0 or nothing).
 */
export function checkVolumeIndex(header: { format: string; medical?: MedicalInfo }, volumeIndex: number | undefined): void {
  const nifti = header.medical?.nifti;
  if (header.format === 'nifti' && nifti) chooseNiftiVolume(nifti.volumes, nifti.dim, volumeIndex);
  else checkSingleVolume(volumeIndex, header.format === 'dicom' ? 'a DICOM file' : `a ${header.format.toUpperCase()} image`);
}

/** volumeIndex for a source that holds one volume (DICOM, or a format without volumes): undefined or 0. */
export function checkSingleVolume(volumeIndex: number | undefined, what: string): void {
  if (volumeIndex !== undefined && volumeIndex !== 0) throw invalidOption('volumeIndex', `0 or nothing (${what} holds one volume; volumeIndex picks a volume of a 4-D NIfTI file)`, volumeIndex);
}

export interface VolumeEncodeOptions {
  format: 'dicom' | 'nifti';
  /** NIfTI: gzip (default true). */
  gzip?: boolean;
  /** DICOM: what made the derived series. */
  derivation?: string;
}

/**
 * Encodes a volume: NIfTI gives one file; DICOM gives one file per slice for a source series, one multi-frame file
 * for a multi-frame source (so a single-slice volume is always one file).
 */
export function encodeVolume(volume: Volume, options: VolumeEncodeOptions): Buffer[] {
  if (options.format === 'nifti') return [encodeNifti(volume, options.gzip ?? true)];
  return encodeDicom(volume, options.derivation ? { derivation: options.derivation } : {});
}

/** Metadata for a plain raster written as NIfTI: 1 mm voxels, identity orientation. */
function plainMedicalInfo(raster: Raster): MedicalInfo {
  return { format: 'nifti', dims: [raster.width, raster.height, 1], spacing: [1, 1, 1], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
}

/** A one-band (or RGB uint8) raster as a volume of one slice, with its medical metadata (or plain 1 mm metadata). */
export function rasterAsVolume(raster: Raster, format: 'dicom' | 'nifti'): Volume {
  const colour = raster.bands === 3 && raster.dtype === 'uint8';
  if (raster.bands !== 1 && !colour) {
    const accepted = format === 'dicom' ? 'one band, or three of uint8 (RGB)' : 'one band, or three of uint8 (RGB24)';
    throw new DiffusekitError('ENCODE_FAILED', `${format === 'dicom' ? 'DICOM' : 'NIfTI'} output holds ${accepted}, not ${raster.bands} of ${raster.dtype}; select a band with selectBands`, {
      details: { format, bands: raster.bands },
    });
  }
  const { slice, ...medical } = raster.medical ?? plainMedicalInfo(raster);
  const axis = slice?.axis ?? 2;
  const index = slice?.index ?? 0;
  // The slice's own grid: its x and y axes become i and j, the axis it cuts becomes k, and the origin moves to it.
  const order = [...inPlaneAxes(axis), axis];
  const cut = (a: Affine): Affine => [0, 1, 2, 3].flatMap((r) => [...order.map((c) => a[r * 4 + c]!), a[r * 4 + 3]! + (r < 3 ? a[r * 4 + axis]! * index : 0)]) as Affine;
  const affine = cut(medical.affine);
  const spacing = order.map((c) => medical.spacing[c]!) as [number, number, number];
  const dims: [number, number, number] = [raster.width, raster.height, 1];
  let dicom = medical.dicom;
  if (dicom) {
    const source = dicom.layout === 'series' && axis === 2 ? dicom.datasets[index] ?? dicom.datasets[0]! : dicom.datasets[0]!;
    const norm = (c: number) => Math.hypot(affine[c]!, affine[4 + c]!, affine[8 + c]!) || 1;
    const orientation = [0, 4, 8].map((r) => affine[r]! / norm(0)).concat([1, 5, 9].map((r) => affine[r]! / norm(1)));
    dicom = { ...dicom, layout: 'multiframe', datasets: [source], positions: [voxelToWorld(affine, 0, 0, 0)], ...(dicom.orientation ? { orientation } : {}) };
  }
  const { nifti: _nifti, ...rest } = medical;
  // Along k the qform keeps its rotation (the quaternion) and moves; across k only an sform can say where the slice is.
  const n = medical.nifti;
  const nifti = n && axis === 2 ? { ...n, ...(n.sform ? { sform: cut(n.sform) } : {}), ...(n.qform ? { qform: cut(n.qform) } : {}) } : undefined;
  const sliced: MedicalInfo = {
    ...rest,
    dims,
    spacing,
    affine,
    ...(dicom ? { dicom } : {}),
    ...(nifti ? { nifti } : n ? { nifti: { ...n, sform: affine, sformCode: n.sformCode || n.qformCode || 1, qformCode: 0 } } : {}),
    valueRange: medical.valueRange ?? valueRangeOf(raster.data),
  };
  return {
    width: raster.width,
    height: raster.height,
    depth: 1,
    ...(colour ? { bands: 3 } : {}),
    dtype: raster.dtype,
    data: raster.data,
    medical: sliced,
  };
}
