import { invalidOption } from '../errors.js';
import { DdimScheduler } from './ddim.js';
import { DdpmScheduler } from './ddpm.js';
import { DpmSolverPp2mScheduler } from './dpmpp-2m.js';
import { PREDICTIONS } from './prediction.js';
import type { Prediction } from './prediction.js';
import { makeSchedule } from './schedules.js';
import { SAMPLER_NAMES } from './scheduler.js';
import type { Scheduler, SchedulerConfig, SchedulerOptions } from './scheduler.js';
import { TIMESTEP_SPACINGS } from './spacing.js';
import type { TimestepSpacing } from './spacing.js';

const DEFAULT_SPACING: TimestepSpacing = 'linspace';

function oneOf<T extends string>(name: string, allowed: readonly T[], value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalidOption(name, `one of ${allowed.map((v) => `'${v}'`).join(', ')}`, value);
  return value as T;
}

function readClip(value: unknown): [number, number] | null {
  if (value === undefined || value === null) return null;
  const pair = value as unknown[];
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'number' ||
      !Number.isFinite(pair[0]) || !Number.isFinite(pair[1]) || !(pair[0] < pair[1])) {
    throw invalidOption('clipX0', 'a pair [lo, hi] of finite numbers with lo < hi', value);
  }
  return [pair[0], pair[1]];
}

/** Validates options and fills in defaults; the result is what `scheduler.config` reports. */
export function resolveSchedulerConfig(options: SchedulerOptions | SchedulerConfig): SchedulerConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('scheduler options', 'an object', options);
  const sampler = options.sampler;
  if (!SAMPLER_NAMES.includes(sampler)) {
    throw invalidOption('sampler', `one of ${SAMPLER_NAMES.map((v) => `'${v}'`).join(', ')}`, sampler);
  }
  const prediction = oneOf<Prediction>('prediction', PREDICTIONS, options.prediction, 'eps');
  const spacing = oneOf<TimestepSpacing>('spacing', TIMESTEP_SPACINGS, options.spacing, DEFAULT_SPACING);
  const clipX0 = readClip(options.clipX0);
  const schedule = makeSchedule(options.schedule).spec;
  const common = { prediction, spacing, clipX0, schedule };
  const eta: unknown = (options as { eta?: unknown }).eta;
  if (sampler === 'ddim') {
    if (eta !== undefined && (typeof eta !== 'number' || !(eta >= 0 && eta <= 1))) throw invalidOption('eta', 'a number in [0, 1]', eta);
    return { sampler, eta: eta ?? 0, ...common };
  }
  if (eta !== undefined) throw invalidOption('eta', `no eta (it applies to the 'ddim' sampler only, not '${sampler}')`, eta);
  return { sampler, ...common };
}

/**
 * Creates the scheduler for one sampler. Call `setTimesteps(steps)` before `step`.
 *
 *   const s = createScheduler({ sampler: 'ddim', eta: 0, prediction: 'eps',
 *     schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 }, spacing: 'leading' });
 */
export function createScheduler(options: SchedulerOptions | SchedulerConfig): Scheduler {
  const config = resolveSchedulerConfig(options);
  switch (config.sampler) {
    case 'ddpm':
      return new DdpmScheduler(config);
    case 'ddim':
      return new DdimScheduler(config);
    case 'dpmpp-2m':
      return new DpmSolverPp2mScheduler(config);
  }
}
