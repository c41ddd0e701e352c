import { BaseScheduler } from './scheduler.js';
import type { Scheduler, SchedulerConfig, UpdateScalars } from './scheduler.js';

/**
 * DDIM (Song et al. 2021): eq. 12,
 *   x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev - sigma^2) * eps + sigma * z,
 * with sigma from eq. 16, sigma = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev).
 * eta = 0 is deterministic; eta = 1 equals DDPM with the beta-tilde variance. Because eps = (x - sqrt(ab_t) x0) /
 * sqrt(1 - ab_t), the update is written in terms of x0 and x, which also keeps it consistent after x0 is clipped.
 */
export class DdimScheduler extends BaseScheduler {
  readonly needsNoise: boolean;
  private table: UpdateScalars[] = [];

  constructor(config: Extract<SchedulerConfig, { sampler: 'ddim' }>) {
    super(config);
    this.needsNoise = config.eta > 0;
  }

  clone(): Scheduler {
    return this.cloneTimestepsInto(new DdimScheduler(this.config as Extract<SchedulerConfig, { sampler: 'ddim' }>));
  }

  protected prepare(timesteps: readonly number[]): void {
    const { eta } = this.config as Extract<SchedulerConfig, { sampler: 'ddim' }>;
    this.table = timesteps.map((t, index) => {
      const abT = this.alphaBar(t);
      const abPrev = this.alphaBarAfter(index);
      const sigma = eta * Math.sqrt((1 - abPrev) / (1 - abT)) * Math.sqrt(1 - abT / abPrev);
      const towardEps = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
      const noiseStd = Math.sqrt(1 - abT);
      return {
        prevFromX0: Math.sqrt(abPrev) - (towardEps * Math.sqrt(abT)) / noiseStd,
        prevFromX: towardEps / noiseStd,
        prevFromHistory: 0,
        noiseScale: sigma,
      };
    });
  }

  protected updateFor(index: number): UpdateScalars {
    return this.table[index]!;
  }
}
