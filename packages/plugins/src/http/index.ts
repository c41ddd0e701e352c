export { createRouter, type DiffusekitRouter } from './router.js';
export { startServer, type RunningServer, type ServerOptions } from './server.js';
export type { CorsOptions, RouterOptions } from './options.js';
export type { DrainOptions, ServiceStats } from './inference-service.js';
export type { JobDescription, JobLinks, ResultSummary } from './describe-job.js';
export { HTTP_ERROR_CODES, type ErrorBody, type HttpErrorCode, type HttpOnlyErrorCode } from './http-errors.js';
export { buildOpenApiDocument } from './openapi.js';
