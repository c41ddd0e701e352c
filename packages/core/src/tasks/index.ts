export { planBandGroups, parseBandGroups, hasAlphaBand, type BandGroup, type BandPlan } from './band-groups.js';
export { upscaleBilinear, upscaleNearestMask } from './resample.js';
export { scaleGeoInfo } from './georeference.js';
export { schedulerForModel, scheduleOf, type SamplingChoice } from './model-scheduler.js';
export {
  PaddedSource,
  inputName,
  outputName,
  imageConditioner,
  imageConditionedSampler,
  sampleConditional,
  type ChwImage,
  type ConditionalSamplingOptions,
  type GroupSampler,
  type GroupSamplingContext,
  type TileBatchPlace,
  type TileConditioner,
  type TileSettings,
} from './conditional-sampling.js';
export { encoderResidualSampler, type EncoderResidualOptions } from './encoder-residual-sampling.js';
export { diffuseRaster, type DiffuseRasterOptions, type DiffuseRasterResult } from './diffuse-raster.js';
export { DIFFUSION_IMAGE_OPTIONS, parseDiffusionImageOptions, type DiffusionImageOptions } from './image-task-options.js';
export { defineDiffusionImageTask, runDiffusionImage, type DiffusionImageRun, type DiffusionImageTaskSpec } from './diffusion-image-task.js';
