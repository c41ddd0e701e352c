export { createDefaultRuntime } from './default-runtime.js';
export { runCli } from './cli/run-cli.js';
export * from './http/index.js';
export * from './queue/index.js';
