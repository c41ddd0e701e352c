export * from './progress.js';
export * from './plugin.js';
export * from './runtime.js';
export * from './jobs.js';
export { satisfiesRange } from './version.js';
export { parseTaskOptions, type ParsedOptions } from './options.js';
