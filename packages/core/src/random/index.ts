export { createRng } from './rng.js';
export type { Rng } from './rng.js';
