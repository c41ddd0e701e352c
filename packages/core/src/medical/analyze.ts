/**
 * ANALYZE 7.5 (Mayo Clinic), the .hdr + .img format NIfTI-1 was made compatible with: the same 348-byte header layout
 * for sizes, datatype, voxel sizes and vox_offset, without NIfTI's magic and without an orientation. Older MRI and PET
 * archives (SPM99-era studies, OASIS-1) still come this way.
 */
import { HEADER_BYTES, niftiVersion } from './nifti.js';

/**
 * Whether these bytes are an ANALYZE 7.5 header: sizeof_hdr 348 in either byte order, no NIfTI magic, dim[0] between
 * 1 and 7 and a positive bitpix.
 */
export function isAnalyzeHeader(view: Uint8Array): boolean {
  if (view.length < HEADER_BYTES || niftiVersion(view) !== undefined) return false;
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const littleEndian = dv.getInt32(0, true) === HEADER_BYTES;
  if (!littleEndian && dv.getInt32(0, false) !== HEADER_BYTES) return false;
  const rank = dv.getInt16(40, littleEndian);
  return rank >= 1 && rank <= 7 && dv.getInt16(72, littleEndian) > 0;
}

/** NIfTI's xyzt_units code (spatial part) for ANALYZE's free-text vox_units; 0 (unknown) when it names none. */
function spatialUnitsCode(voxUnits: string): number {
  const units = voxUnits.replace(/\0.*$/s, '').trim().toLowerCase();
  if (units === 'mm') return 2;
  if (units === 'um' || units === 'µm' || units === 'micron') return 3;
  if (units === 'm') return 1;
  return 0;
}

/**
 * The NIfTI-1 pair header (magic "ni1") an ANALYZE 7.5 header stands for, in its byte order, following NIfTI-1's own
 * mapping of the older format: sizes, datatype, bitpix, pixdim, vox_offset, cal_max/min, description and aux_file are
 * kept; qform_code and sform_code are 0 (NIfTI's "method 1": voxel sizes and no orientation, which is all ANALYZE
 * states, so no axis direction is invented); SPM's scale factor (funused1, with funused2 as the offset SPM2 writes)
 * becomes scl_slope / scl_inter; vox_units "mm" becomes xyzt_units. The history fields NIfTI reuses for the quaternion,
 * the sform and intent_name (orient, originator, ...) are cleared, so they cannot be read as transforms.
 */
export function analyzeAsNiftiPairHeader(view: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(view.subarray(0, HEADER_BYTES));
  const dv = new DataView(out.buffer);
  const le = dv.getInt32(0, true) === HEADER_BYTES;
  const voxUnits = String.fromCharCode(...out.subarray(56, 60));
  const scale = dv.getFloat32(112, le);
  const offset = dv.getFloat32(116, le);
  const [calMax, calMin] = [dv.getFloat32(124, le), dv.getFloat32(128, le)];
  out[39] = 0; // dim_info (ANALYZE's hkey_un0)
  out.fill(0, 56, 70); // intent_p1..p3 and intent_code (ANALYZE's vox_units, cal_units, unused1)
  dv.setInt16(74, 0, le); // slice_start (dim_un0)
  dv.setFloat32(76, 1, le); // pixdim[0]: qfac, meaningless without a qform
  const scaled = Number.isFinite(scale) && scale > 0;
  dv.setFloat32(112, scaled ? scale : 0, le);
  dv.setFloat32(116, scaled && Number.isFinite(offset) ? offset : 0, le);
  out.fill(0, 120, 124); // slice_end, slice_code, xyzt_units (funused3)
  out[123] = spatialUnitsCode(voxUnits);
  if (!(Number.isFinite(calMax) && Number.isFinite(calMin))) out.fill(0, 124, 132);
  out.fill(0, 132, 140); // slice_duration, toffset (ANALYZE's compressed, verified)
  out.fill(0, 252, 344); // qform/sform codes, quaternion, srow_*, intent_name (ANALYZE's data_history)
  out.set([0x6e, 0x69, 0x31, 0], 344); // "ni1"
  return out;
}
