import { invalidOption } from '../errors.js';
import type { Scheduler } from './scheduler.js';

/**
 * What a network is told about the noise level, which depends on how it was trained:
 * - 'timestep':       the integer training timestep t (DDPM, SRDiff);
 * - 'sqrt-alpha-bar': sqrt(ab_t), the signal scale (SR3, Saharia et al. 2021);
 * - 'alpha-bar':      ab_t itself (Palette's noise-level embedding as released).
 */
export type NoiseInputKind = 'timestep' | 'sqrt-alpha-bar' | 'alpha-bar';

export const NOISE_INPUT_KINDS: readonly NoiseInputKind[] = ['timestep', 'sqrt-alpha-bar', 'alpha-bar'];

/** The value fed to the network's noise-level input at timestep t. */
export function noiseInputFor(kind: NoiseInputKind, scheduler: Pick<Scheduler, 'alphaBar'>, t: number): number {
  switch (kind) {
    case 'timestep':
      scheduler.alphaBar(t); // validates t
      return t;
    case 'sqrt-alpha-bar':
      return Math.sqrt(scheduler.alphaBar(t));
    case 'alpha-bar':
      return scheduler.alphaBar(t);
    default:
      throw invalidOption('noiseInput', `one of ${NOISE_INPUT_KINDS.map((v) => `'${v}'`).join(', ')}`, kind);
  }
}
