import { invalidOption } from '../errors.js';

/**
 * How `steps` sampling timesteps are picked from `trainSteps` training timesteps (the three rules compared in
 * Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", table 2):
 * - 'leading':  0, k, 2k, ... with k = floor(trainSteps / steps); never starts at the noisiest timestep.
 * - 'trailing': trainSteps - 1, trainSteps - 1 - T/steps, ... (rounded); starts at the noisiest timestep but stops at
 *               T/steps - 1, so the last step jumps from a visibly noisy level to clean data.
 * - 'linspace': round(linspace(0, trainSteps - 1, steps)); starts at the noisiest timestep and ends at 0.
 */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** Sampling timesteps, noisiest first. Throws INVALID_OPTION unless 1 <= steps <= trainSteps. */
export function spacedTimesteps(spacing: TimestepSpacing, steps: number, trainSteps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw invalidOption('steps', `an integer in [1, ${trainSteps}] (the schedule's trainSteps)`, steps);
  }
  const ascending: number[] = new Array<number>(steps);
  switch (spacing) {
    case 'leading': {
      const stride = Math.floor(trainSteps / steps);
      for (let i = 0; i < steps; i++) ascending[i] = i * stride;
      break;
    }
    case 'trailing': {
      const stride = trainSteps / steps;
      for (let i = 0; i < steps; i++) ascending[i] = Math.round(trainSteps - (steps - 1 - i) * stride) - 1;
      break;
    }
    case 'linspace': {
      const stride = steps === 1 ? 0 : (trainSteps - 1) / (steps - 1);
      for (let i = 0; i < steps; i++) ascending[i] = Math.round(i * stride);
      if (steps === 1) ascending[0] = trainSteps - 1;
      break;
    }
    default:
      throw invalidOption('spacing', "one of 'leading', 'trailing', 'linspace'", spacing);
  }
  return ascending.reverse();
}
