export type { Affine, DicomInfo, MedicalInfo, NiftiInfo, Volume, VolumeAxis, VolumeHeader } from './types.js';
export {
  VOLUME_AXES,
  checkAxis,
  inPlaneAxes,
  labelVolumeInfo,
  mapVolumeSlices,
  multiplyAffine,
  scaleMedicalInfo,
  scaleSliceMedicalInfo,
  sliceCount,
  valueRangeOf,
  volumeFromSlices,
  volumeSlice,
  voxelToWorld,
  volumeStretch,
} from './volume.js';
export { checkVolumeIndex, decodeVolume, encodeVolume, rasterAsVolume, readVolumeHeader, type VolumeEncodeOptions } from './codec.js';
export { decodeDicom, decodeDicomSeries, encodeDicom, readDicomHeader, readDicomSeriesHeader, type DicomEncodeOptions } from './dicom.js';
export { dicomSegBlocker, encodeDicomSeg, type DicomSegOptions } from './dicom-seg.js';
export { decodeNifti, encodeNifti, readNiftiHeader, readNiftiVolumes, type NiftiDecodeOptions } from './nifti.js';
export { readDicomSeriesFolder, readDicomSeriesFolderHeader, volumeFormatFor, writeNiftiSeriesFile, writeNiftiSeriesFiles, writeVolumeFile, type WriteVolumeFileOptions } from './files.js';
export { CODEC_SYNTAXES } from './compressed.js';
export { analyzeAsNiftiPairHeader, isAnalyzeHeader } from './analyze.js';
