import { BaseScheduler } from './scheduler.js';
import type { Scheduler, SchedulerConfig, UpdateScalars } from './scheduler.js';

/**
 * DDPM ancestral sampling (Ho et al. 2020, eq. 6-7) with the "fixed small" posterior variance beta-tilde. With fewer
 * sampling steps than training steps, each step uses the effective beta of the jump, 1 - ab_t / ab_prev, which is
 * exactly the posterior q(x_prev | x_t, x0) of the forward process restricted to the chosen timesteps.
 */
export class DdpmScheduler extends BaseScheduler {
  readonly needsNoise = true;
  private table: UpdateScalars[] = [];

  constructor(config: Extract<SchedulerConfig, { sampler: 'ddpm' }>) {
    super(config);
  }

  clone(): Scheduler {
    return this.cloneTimestepsInto(new DdpmScheduler(this.config as Extract<SchedulerConfig, { sampler: 'ddpm' }>));
  }

  protected prepare(timesteps: readonly number[]): void {
    this.table = timesteps.map((t, index) => {
      const abT = this.alphaBar(t);
      const abPrev = this.alphaBarAfter(index);
      const alpha = abT / abPrev;
      const beta = 1 - alpha;
      // Posterior mean coefficients (Ho et al. eq. 7) and beta-tilde = (1 - ab_prev) / (1 - ab_t) * beta.
      return {
        prevFromX0: (Math.sqrt(abPrev) * beta) / (1 - abT),
        prevFromX: (Math.sqrt(alpha) * (1 - abPrev)) / (1 - abT),
        prevFromHistory: 0,
        noiseScale: Math.sqrt(((1 - abPrev) / (1 - abT)) * beta),
      };
    });
  }

  protected updateFor(index: number): UpdateScalars {
    return this.table[index]!;
  }
}
