export { planTiles, wholeImagePlan } from './plan.js';
export type { TilePlan, TilePlanOptions, TileRect } from './plan.js';
export { blendAxes, blendWeights, createTileFusion, TileFusion } from './blend.js';
export { cropChw, cropTopLeft, extractTile, extractTiles, reflectIndex, reflectPad } from './pad.js';
export type { ChwShape } from './pad.js';
