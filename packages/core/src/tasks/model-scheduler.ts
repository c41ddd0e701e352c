import { invalidOption } from '../errors.js';
import { createScheduler } from '../diffusion/create-scheduler.js';
import type { Scheduler } from '../diffusion/scheduler.js';
import { trainStepsOf, type ScheduleSpec } from '../diffusion/schedules.js';
import type { ModelManifest, SamplerName } from '../models/manifest.js';

export interface SamplingChoice {
  /** Default: the model's defaultSampler. */
  sampler?: SamplerName;
  /** Default: the model's defaultSteps. */
  steps?: number;
  /** DDIM only; default 0 (deterministic). */
  eta?: number;
}

export function scheduleOf(manifest: ModelManifest): ScheduleSpec {
  return manifest.diffusion.schedule;
}

/** The scheduler a model was trained for (schedule, prediction, spacing, x0 clipping), with the caller's sampler and steps. */
export function schedulerForModel(manifest: ModelManifest, choice: SamplingChoice = {}): Scheduler {
  const d = manifest.diffusion;
  const sampler = choice.sampler ?? d.defaultSampler;
  const steps = choice.steps ?? d.defaultSteps;
  const trainSteps = trainStepsOf(d.schedule);
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) throw invalidOption('steps', `an integer in [1, ${trainSteps}]`, steps);
  const common = {
    prediction: d.prediction,
    schedule: scheduleOf(manifest),
    spacing: d.spacing,
    ...(d.clipX0 ? { clipX0: manifest.range } : {}),
  };
  const scheduler =
    sampler === 'ddim'
      ? createScheduler({ sampler, eta: choice.eta ?? 0, ...common })
      : sampler === 'ddpm'
        ? createScheduler({ sampler, ...common })
        : createScheduler({ sampler, ...common });
  if (sampler !== 'ddim' && choice.eta !== undefined && choice.eta !== 0) throw invalidOption('eta', `0 (eta applies to ddim only, not ${sampler})`, choice.eta);
  scheduler.setTimesteps(steps);
  return scheduler;
}
