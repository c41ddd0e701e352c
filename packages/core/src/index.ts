export * from './errors.js';
export * from './random/index.js';
export * from './raster/index.js';
export * from './codecs/index.js';
export * from './diffusion/index.js';
export * from './tiling/index.js';
