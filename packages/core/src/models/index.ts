export * from './manifest.js';
export * from './catalog.js';
export { sha256File, verifyModelFiles } from './verify.js';
