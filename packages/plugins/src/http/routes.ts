/**
 * The API's routes as data. The router registers a handler for each entry and the OpenAPI document is written from
 * the same list, so the two cannot drift apart.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'delete';
  /** Express path syntax, relative to the mount point. */
  path: string;
  operationId: string;
  summary: string;
  /** Whether the API key (when one is configured) is required. */
  auth: boolean;
}

export const API_ROUTES = [
  { method: 'get', path: '/v1/health', operationId: 'getHealth', summary: 'Liveness, version and queue load', auth: false },
  { method: 'get', path: '/v1/openapi.json', operationId: 'getOpenApi', summary: 'This API described as OpenAPI 3.0', auth: false },
  { method: 'get', path: '/v1/models', operationId: 'listModels', summary: 'Installed models and the tasks that can use each', auth: true },
  { method: 'get', path: '/v1/tasks', operationId: 'listTasks', summary: 'Image tasks served here, with their options', auth: true },
  { method: 'post', path: '/v1/tasks/:task', operationId: 'runTask', summary: 'Run a task on one image and answer with the result image', auth: true },
  { method: 'post', path: '/v1/jobs', operationId: 'createJob', summary: 'Queue a task on one image as a background job', auth: true },
  { method: 'get', path: '/v1/jobs/:id', operationId: 'getJob', summary: 'Status and progress of a job', auth: true },
  { method: 'delete', path: '/v1/jobs/:id', operationId: 'cancelJob', summary: 'Cancel a job that has not finished', auth: true },
  { method: 'get', path: '/v1/jobs/:id/events', operationId: 'streamJobEvents', summary: 'Server-Sent Events with the status and progress of a job', auth: true },
  { method: 'get', path: '/v1/jobs/:id/result', operationId: 'getJobResult', summary: 'The result image of a finished job', auth: true },
] as const satisfies readonly RouteSpec[];

export type OperationId = (typeof API_ROUTES)[number]['operationId'];

/** "/v1/jobs/:id" -> "/v1/jobs/{id}" */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
}

/** A regular expression matching concrete paths of a route, e.g. /v1/jobs/abc for /v1/jobs/:id. */
export function routePattern(path: string): RegExp {
  const escaped = path.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&').replace(/:([A-Za-z_]\w*)/g, '[^/]+');
  return new RegExp(`^${escaped}/?$`);
}
