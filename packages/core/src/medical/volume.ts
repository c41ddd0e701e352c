import { DiffusekitError, invalidOption, throwIfAborted } from '../errors.js';
import { allocateSamples } from '../raster/dtype.js';
import type { DType, Raster, RasterData } from '../raster/types.js';
import type { Stretch } from '../raster/stretch.js';
import type { Affine, MedicalInfo, Volume, VolumeAxis } from './types.js';

export const VOLUME_AXES: readonly VolumeAxis[] = [0, 1, 2];

/** The two in-plane axes of a slice perpendicular to `axis`, in the order they become the slice's x and y. */
export function inPlaneAxes(axis: VolumeAxis): [VolumeAxis, VolumeAxis] {
  return axis === 2 ? [0, 1] : axis === 1 ? [0, 2] : [1, 2];
}

export function checkAxis(axis: unknown, name = 'axis'): asserts axis is VolumeAxis {
  if (axis !== 0 && axis !== 1 && axis !== 2) throw invalidOption(name, '0 (i, sagittal for RAS data), 1 (j, coronal) or 2 (k, the acquisition plane)', axis);
}

const sizeAlong = (volume: { width: number; height: number; depth: number }, axis: VolumeAxis): number =>
  axis === 0 ? volume.width : axis === 1 ? volume.height : volume.depth;

/** Number of slices perpendicular to `axis`. */
export function sliceCount(volume: Volume, axis: VolumeAxis): number {
  return sizeAlong(volume, axis);
}

/** Smallest and largest sample (NaN skipped); [0, 0] for a volume with no finite sample. */
export function valueRangeOf(data: RasterData): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) ? [min, max] : [0, 0];
}

/**
 * One slice of a volume as a raster of the volume's bands (one for grey, three for RGB). Perpendicular to k the slice
 * is (i, j); to j it is (i, k); to i it is (j, k). The raster carries the volume's medical metadata with the slice's
 * axis and index.
 */
export function volumeSlice(volume: Volume, axis: VolumeAxis, index: number): Raster {
  checkAxis(axis);
  const count = sizeAlong(volume, axis);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw invalidOption('index', `an integer slice index in [0, ${count - 1}]`, index);
  const [ax, ay] = inPlaneAxes(axis);
  const width = sizeAlong(volume, ax);
  const height = sizeAlong(volume, ay);
  const bands = volume.bands ?? 1;
  const { width: W, height: H } = volume;
  const plane = W * H;
  let data: RasterData;
  if (axis === 2) {
    data = volume.data.slice(index * plane * bands, (index + 1) * plane * bands) as RasterData;
  } else {
    data = allocateSamples(volume.dtype, width * height * bands);
    for (let b = 0; b < bands; b++) {
      for (let y = 0; y < height; y++) {
        // y runs along k; x along i (axis 1) or j (axis 0).
        const row = (y * bands + b) * plane;
        for (let x = 0; x < width; x++) {
          const source = axis === 1 ? row + index * W + x : row + x * W + index;
          data[(b * height + y) * width + x] = volume.data[source]!;
        }
      }
    }
  }
  return { width, height, bands, dtype: volume.dtype, data, sourceFormat: volume.medical.format, medical: { ...volume.medical, slice: { axis, index } } };
}

/**
 * Puts slices perpendicular to `axis` back together (the inverse of volumeSlice). Every slice must have the same size
 * and band count (that of slice 0) and be of `dtype`.
 */
export function volumeFromSlices(slices: readonly Raster[], axis: VolumeAxis, medical: MedicalInfo, dtype: DType = slices[0]?.dtype ?? 'uint8'): Volume {
  checkAxis(axis);
  if (slices.length === 0) throw new DiffusekitError('INVALID_ARGUMENT', 'A volume needs at least one slice');
  const { width: sw, height: sh, bands } = slices[0]!;
  for (const [n, s] of slices.entries()) {
    if (s.width !== sw || s.height !== sh || s.bands !== bands || s.dtype !== dtype) {
      throw new DiffusekitError('INVALID_ARGUMENT', `Slice ${n} is ${s.width}x${s.height}, ${s.bands} band(s) of ${s.dtype}; expected ${sw}x${sh}, ${bands} band(s) of ${dtype} like slice 0`);
    }
  }
  const [width, height, depth] = axis === 2 ? [sw, sh, slices.length] : axis === 1 ? [sw, slices.length, sh] : [slices.length, sw, sh];
  const plane = width * height;
  const data = allocateSamples(dtype, plane * depth * bands);
  slices.forEach((s, index) => {
    if (axis === 2) {
      data.set(s.data as never, index * plane * bands);
      return;
    }
    for (let b = 0; b < bands; b++) {
      for (let y = 0; y < sh; y++) {
        const row = (y * bands + b) * plane;
        for (let x = 0; x < sw; x++) {
          const target = axis === 1 ? row + index * width + x : row + x * width + index;
          data[target] = s.data[(b * sh + y) * sw + x]!;
        }
      }
    }
  });
  const { slice: _slice, ...shared } = medical;
  return { width, height, depth, ...(bands > 1 ? { bands } : {}), dtype, data, medical: { ...shared, dims: [width, height, depth] } };
}

/**
 * The mapping a medical slice is stretched with by default: the stored range of its whole volume, so that every slice
 * maps alike and nothing is clipped. Undefined for other rasters (they keep the per-dtype default).
 */
export function volumeStretch(raster: Raster): Stretch | undefined {
  const range = raster.medical?.valueRange;
  return range ? { kind: 'fixed', min: [range[0]], max: [range[1]] } : undefined;
}

/** Row-major 4x4 product. */
export function multiplyAffine(a: Affine, b: Affine): Affine {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c]! += a[r * 4 + k]! * b[k * 4 + c]!;
  return out as Affine;
}

/** The millimetre position of voxel centre (i, j, k). */
export function voxelToWorld(affine: Affine, i: number, j: number, k: number): [number, number, number] {
  return [0, 1, 2].map((r) => affine[r * 4]! * i + affine[r * 4 + 1]! * j + affine[r * 4 + 2]! * k + affine[r * 4 + 3]!) as [number, number, number];
}

/**
 * Voxel (i', j', k') of a grid resampled by `scale` along `axes` to voxel coordinates of the source grid. The field of
 * view is kept: voxel edges stay where they were, so the first voxel's centre moves (1 - 1/scale)/2 source voxels
 * inwards, as in a half-pixel resize.
 */
function resampleMatrix(scale: number, axes: readonly VolumeAxis[]): Affine {
  const m: number[] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (const a of axes) {
    m[a * 4 + a] = 1 / scale;
    m[a * 4 + 3] = -(1 - 1 / scale) / 2;
  }
  return m as Affine;
}

/**
 * Metadata of a label volume aligned with `source`: the same grid and affine, class indices as uint8 (no rescale, no
 * display window), 255 as nothing. NIfTI keeps the source's sform/qform; a DICOM source's geometry becomes a NIfTI sform.
 */
export function labelVolumeInfo(source: MedicalInfo): MedicalInfo {
  const { rescale: _rescale, window: _window, valueRange: _range, photometric: _photometric, ...rest } = source;
  return { ...rest, ...(source.nifti ? { nifti: { ...source.nifti, datatype: 2 } } : {}) };
}

/**
 * Medical metadata after resampling by an integer `scale` along `axes` (a slice's two in-plane axes, for super-
 * resolution): dims times scale, spacing and the affine's columns divided by it, the field of view kept. NIfTI
 * pixdim, sform and qform and DICOM positions and slice thickness follow.
 */
export function scaleMedicalInfo(info: MedicalInfo, scale: number, axes: readonly VolumeAxis[]): MedicalInfo {
  if (scale === 1 || axes.length === 0) return info;
  const step = resampleMatrix(scale, axes);
  const dims = info.dims.map((d, a) => (axes.includes(a as VolumeAxis) ? d * scale : d)) as [number, number, number];
  const spacing = info.spacing.map((s, a) => (axes.includes(a as VolumeAxis) ? s / scale : s)) as [number, number, number];
  const affine = multiplyAffine(info.affine, step);
  const out: MedicalInfo = { ...info, dims, spacing, affine };
  if (info.sliceThickness !== undefined && axes.includes(2)) out.sliceThickness = info.sliceThickness / scale;
  if (info.nifti) {
    const n = info.nifti;
    const dim = [...n.dim];
    const pixdim = [...n.pixdim];
    for (const a of axes) {
      dim[a + 1] = (dim[a + 1] ?? 1) * scale;
      pixdim[a + 1] = (pixdim[a + 1] ?? 1) / scale;
    }
    out.nifti = {
      ...n,
      dim,
      pixdim,
      ...(n.sform ? { sform: multiplyAffine(n.sform, step) } : {}),
      ...(n.qform ? { qform: multiplyAffine(n.qform, step) } : {}),
    };
  }
  if (info.dicom) {
    const positions = Array.from({ length: dims[2] }, (_, k) => voxelToWorld(affine, 0, 0, k));
    out.dicom = { ...info.dicom, positions };
  }
  return out;
}

/** The metadata of a slice's volume after the slice was resampled by `scale` in its plane. */
export function scaleSliceMedicalInfo(info: MedicalInfo, scale: number): MedicalInfo {
  return scaleMedicalInfo(info, scale, inPlaneAxes(info.slice?.axis ?? 2));
}

/**
 * Runs `process` on every slice perpendicular to `axis` (in order, one at a time) and puts the results back together
 * as a volume of the same dtype, with the metadata scaled by the factor the results show (super-resolution) or kept.
 * Each result must have the same size and band count (one band for labels of a colour volume, for instance).
 */
export async function mapVolumeSlices(
  volume: Volume,
  axis: VolumeAxis,
  process: (slice: Raster, index: number, of: number) => Promise<Raster>,
  signal?: AbortSignal,
): Promise<{ volume: Volume; scale: number }> {
  checkAxis(axis);
  const count = sliceCount(volume, axis);
  const results: Raster[] = [];
  let scale = 1;
  for (let index = 0; index < count; index++) {
    throwIfAborted(signal);
    const slice = volumeSlice(volume, axis, index);
    const out = await process(slice, index, count);
    const s = out.width / slice.width;
    if (!Number.isInteger(s) || s < 1 || out.height !== slice.height * s) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Slice ${index} came back ${out.width}x${out.height} from ${slice.width}x${slice.height}; a volume needs an integer scale`);
    }
    if (index === 0) scale = s;
    else if (s !== scale) throw new DiffusekitError('MODEL_INCOMPATIBLE', `Slice ${index} was scaled by ${s}, slice 0 by ${scale}`);
    if (index > 0 && out.bands !== results[0]!.bands) {
      throw new DiffusekitError('INVALID_ARGUMENT', `Slice ${index} came back with ${out.bands} band(s), slice 0 with ${results[0]!.bands}; a volume holds the same bands in every slice`, {
        details: { bands: out.bands },
      });
    }
    results.push(out);
  }
  const medical = scaleMedicalInfo(volume.medical, scale, inPlaneAxes(axis));
  return { volume: volumeFromSlices(results, axis, medical, results[0]!.dtype), scale };
}
