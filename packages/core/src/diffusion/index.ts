// NoiseInputKind, SamplerName and the prediction list are also declared by models/manifest.ts with the same members;
// they are exported from there, so this barrel leaves them out to keep the root export unambiguous.
export { makeSchedule, trainStepsOf, SCHEDULE_KINDS, DEFAULT_BETA_END, DEFAULT_BETA_START, COSINE_MAX_BETA, COSINE_OFFSET } from './schedules.js';
export type { NoiseSchedule, ScheduleKind, ScheduleSpec } from './schedules.js';
export { spacedTimesteps, TIMESTEP_SPACINGS } from './spacing.js';
export type { TimestepSpacing } from './spacing.js';
export { convertPrediction, epsCoefficients, vCoefficients, x0Coefficients } from './prediction.js';
export type { LinearCoefficients, Prediction } from './prediction.js';
export { BaseScheduler, SAMPLER_NAMES } from './scheduler.js';
export type {
  Scheduler, SchedulerConfig, SchedulerOptions, SchedulerStepOptions, SchedulerStepResult, UpdateScalars,
} from './scheduler.js';
export { DdpmScheduler } from './ddpm.js';
export { DdimScheduler } from './ddim.js';
export { DpmSolverPp2mScheduler } from './dpmpp-2m.js';
export { createScheduler, resolveSchedulerConfig } from './create-scheduler.js';
export { noiseInputFor, NOISE_INPUT_KINDS } from './noise-input.js';
export { fillNoiseField, type NoiseOrigin } from './noise-field.js';
export { runSampler } from './sampler-loop.js';
export { MAX_RESAMPLE, type KnownRegion } from './known-region.js';
export type { ModelBatch, RunSamplerOptions, SamplerModel, SamplerProgress, SamplerStats, SamplerTiling } from './sampler-loop.js';
