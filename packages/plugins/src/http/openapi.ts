import { CORE_VERSION, IMAGE_FORMATS, type Runtime, type TaskOptionSpec } from '@diffusekit/core';
import { HTTP_ERROR_CODES } from './http-errors.js';
import { servedTasks } from './image-order.js';
import { API_ROUTES, toOpenApiPath, type OperationId } from './routes.js';

type Json = Record<string, unknown>;

export interface OpenApiContext {
  /** Where the router is mounted, e.g. "" or "/diffusekit". */
  baseUrl: string;
  authRequired: boolean;
  maxBodyBytes: number;
  maxPixels: number;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string): Json => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const jsonResponse = (description: string, schema: Json, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const retryAfter: Json = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } };
const binary: Json = { type: 'string', format: 'binary' };
// DICOM answers are application/dicom and NIfTI ones application/gzip (.nii.gz); uploads are judged by their bytes.
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'application/dicom', 'application/gzip'];
const imageContent = (): Json => Object.fromEntries(IMAGE_TYPES.map((t) => [t, { schema: binary }]));

function schemaForOption(spec: TaskOptionSpec): Json {
  const base: Json = { description: spec.description };
  if (spec.default !== undefined) base.default = spec.default;
  switch (spec.type) {
    case 'integer':
    case 'number':
      return { ...base, type: spec.type, ...(spec.min !== undefined ? { minimum: spec.min } : {}), ...(spec.max !== undefined ? { maximum: spec.max } : {}) };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'enum':
      return { ...base, type: 'string', enum: [...(spec.values ?? [])] };
    case 'integer-list':
      return { ...base, type: 'string', pattern: '^[+-]?\\d+(,[+-]?\\d+)*$', description: `${spec.description} (comma-separated integers)` };
    case 'string':
      return { ...base, type: 'string' };
  }
}

export function optionsSchemaName(taskId: string): string {
  return `Options.${taskId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function imageRequestBody(withTask: boolean, limits: string): Json {
  const fields: Json = {
    image: { ...binary, description: 'The image: PNG, JPEG, WebP, TIFF, GeoTIFF, DICOM (grey or colour, one Part-10 file) or NIfTI (.nii, .nii.gz)' },
    ...(withTask ? { task: { type: 'string', description: 'Task id (GET /v1/tasks)' } } : {}),
    model: { type: 'string', description: "Model id (GET /v1/models); the task's default when left out" },
    format: { type: 'string', enum: [...IMAGE_FORMATS], description: "Result format; the input's when left out" },
    volume: { type: 'string', pattern: '^[0-9]+$', description: 'A 4-D NIfTI upload: the 3-D volume to run, from 0 (required for such files)' },
  };
  return {
    required: true,
    description: `The image, either as a multipart form (file field "image", options as text fields) or as the raw body (options in the query string). ${limits}`,
    content: {
      'multipart/form-data': {
        schema: { type: 'object', required: ['image', ...(withTask ? ['task'] : [])], properties: fields, additionalProperties: { type: 'string', description: 'A task option' } },
      },
      'application/octet-stream': { schema: binary },
      ...imageContent(),
    },
  };
}

function queryParameters(withTask: boolean): Json[] {
  return [
    ...(withTask ? [{ name: 'task', in: 'query', description: 'Task id, when the body is the raw image', schema: { type: 'string' } }] : []),
    { name: 'model', in: 'query', description: 'Model id (ids only; never a path)', schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' } },
    { name: 'format', in: 'query', description: "Result format; the input's when left out", schema: { type: 'string', enum: [...IMAGE_FORMATS] } },
    { name: 'volume', in: 'query', description: 'A 4-D NIfTI upload: the 3-D volume to run, from 0 (required for such files)', schema: { type: 'integer', minimum: 0 } },
    {
      name: 'options',
      in: 'query',
      style: 'form',
      explode: true,
      description: 'Task options as name=value pairs, converted by the types GET /v1/tasks lists',
      schema: { type: 'object', additionalProperties: { type: 'string' } },
    },
  ];
}

const jobId: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

function operations(taskIds: string[], limits: string): Record<OperationId, Json> {
  const commonErrors = { '401': { $ref: '#/components/responses/Unauthorized' }, '500': { $ref: '#/components/responses/ServerError' } };
  const imageErrors = {
    '400': errorResponse('INVALID_OPTION, EMPTY_INPUT, DECODE_FAILED, ENCODE_FAILED, MODEL_INCOMPATIBLE or INVALID_ARGUMENT'),
    '404': errorResponse('TASK_NOT_FOUND or MODEL_NOT_FOUND'),
    '413': errorResponse('IMAGE_TOO_LARGE: the body or the image header is over the limit'),
    '415': errorResponse('UNSUPPORTED_FORMAT'),
    '429': { ...errorResponse('QUEUE_FULL: retry after Retry-After seconds'), headers: retryAfter },
    '503': { ...errorResponse('The server is shutting down'), headers: retryAfter },
  };
  return {
    getHealth: {
      responses: { '200': jsonResponse('Serving', ref('Health')), '503': jsonResponse('Draining before shutdown', ref('Health')) },
    },
    getOpenApi: { responses: { '200': jsonResponse('This document', { type: 'object' }) } },
    listModels: {
      responses: { '200': jsonResponse('Models', { type: 'object', properties: { models: { type: 'array', items: ref('Model') } } }), ...commonErrors },
    },
    listTasks: {
      responses: { '200': jsonResponse('Tasks', { type: 'object', properties: { tasks: { type: 'array', items: ref('Task') } } }), ...commonErrors },
    },
    runTask: {
      description: `Runs the task and answers with the result image. Options per task: ${taskIds.map((id) => `#/components/schemas/${optionsSchemaName(id)}`).join(', ') || 'none'}. A client that disconnects cancels the work.`,
      parameters: [{ name: 'task', in: 'path', required: true, schema: { type: 'string', ...(taskIds.length ? { enum: taskIds } : {}) } }, ...queryParameters(false)],
      requestBody: imageRequestBody(false, limits),
      responses: {
        '200': {
          description: "The result image, in the input's format or the one asked for",
          headers: {
            'X-Diffusekit-Model': { description: 'Id of the model that ran', schema: { type: 'string' } },
            'X-Diffusekit-Info': { description: 'Facts about the run as JSON (seed, steps, timings), when short', schema: { type: 'string' } },
          },
          content: imageContent(),
        },
        ...imageErrors,
        ...commonErrors,
      },
    },
    createJob: {
      description: 'Checks the request like POST /v1/tasks/{task}, queues it and answers at once; follow it with the links in the answer.',
      parameters: queryParameters(true),
      requestBody: imageRequestBody(true, limits),
      responses: {
        '202': jsonResponse('Queued', ref('Job'), { Location: { description: 'URL of the job', schema: { type: 'string' } } }),
        ...imageErrors,
        ...commonErrors,
      },
    },
    getJob: {
      parameters: [jobId],
      responses: { '200': jsonResponse('The job', ref('Job')), '404': errorResponse('JOB_NOT_FOUND'), ...commonErrors },
    },
    cancelJob: {
      description: 'Cancels a queued or running job (between steps) and answers with its state; a finished job is left as it is.',
      parameters: [jobId],
      responses: { '200': jsonResponse('The job after cancellation', ref('Job')), '404': errorResponse('JOB_NOT_FOUND'), ...commonErrors },
    },
    streamJobEvents: {
      description:
        'Server-Sent Events. First the current state (status, then the last progress), then `status` and `progress` events as they happen, then one `done` event, after which the stream ends. `done` data: {status: "succeeded", result: {url, format, width, height, ...}} or {status: "failed" | "cancelled", error: {code, message}}.',
      parameters: [jobId],
      responses: {
        '200': { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        '404': errorResponse('JOB_NOT_FOUND'),
        ...commonErrors,
      },
    },
    getJobResult: {
      parameters: [jobId],
      responses: {
        '200': { description: 'The result image', content: imageContent() },
        '400': errorResponse('The job failed; the error it failed with'),
        '404': errorResponse('JOB_NOT_FOUND'),
        '409': { ...errorResponse('JOB_NOT_FINISHED (retry later) or ABORTED (the job was cancelled)'), headers: retryAfter },
        ...commonErrors,
      },
    },
  };
}

function schemas(runtime: Runtime): Json {
  const progress = {
    oneOf: [
      { type: 'object', properties: { kind: { enum: ['step'] }, step: { type: 'integer' }, of: { type: 'integer' } } },
      { type: 'object', properties: { kind: { enum: ['tile'] }, tile: { type: 'integer' }, of: { type: 'integer' } } },
      { type: 'object', properties: { kind: { enum: ['stage'] }, stage: { type: 'string' } } },
      { type: 'object', properties: { kind: { enum: ['item'] }, item: { type: 'integer' }, of: { type: 'integer' }, name: { type: 'string' } } },
    ],
  };
  const optionSchemas = Object.fromEntries(
    servedTasks(runtime).map((task) => [
      optionsSchemaName(task.id),
      { type: 'object', additionalProperties: false, properties: Object.fromEntries(task.options.map((o) => [o.name, schemaForOption(o)])) },
    ]),
  );
  return {
    Error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: `A code from docs/errors.md, or one of ${HTTP_ERROR_CODES.join(', ')}` },
        message: { type: 'string' },
        details: { type: 'object', description: 'Structured facts (bad option, accepted values); only on 4xx answers' },
      },
    },
    Progress: progress,
    Health: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ok', 'draining'] },
        version: { type: 'string' },
        uptimeSeconds: { type: 'number' },
        workers: { type: 'integer' },
        queue: { type: 'object', properties: { backend: { type: 'string', enum: ['memory', 'redis'] }, running: { type: 'integer' }, queued: { type: 'integer' }, concurrency: { type: 'integer' }, maxQueued: { type: 'integer' } } },
        jobsKept: { type: 'integer' },
      },
    },
    TaskOption: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        type: { type: 'string', enum: ['integer', 'number', 'string', 'boolean', 'enum', 'integer-list'] },
        description: { type: 'string' },
        default: {},
        values: { type: 'array', items: { type: 'string' } },
        min: { type: 'number' },
        max: { type: 'number' },
      },
    },
    Task: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        description: { type: 'string' },
        defaultModel: { type: 'string' },
        models: { type: 'array', items: { type: 'string' }, description: 'Installed models this task can use' },
        options: { type: 'array', items: ref('TaskOption') },
      },
    },
    Model: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        version: { type: 'string' },
        family: { type: 'string', description: "The manifest's task family (sr3, palette-jpeg, ...)" },
        channels: { type: 'integer' },
        scale: { type: 'integer' },
        license: { type: 'string' },
        trainedOn: { type: 'string' },
        metrics: { type: 'object', additionalProperties: { type: 'number' } },
        tasks: { type: 'array', items: { type: 'string' }, description: 'Served tasks that can use this model' },
      },
    },
    Job: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        task: { type: 'string' },
        model: { type: 'string' },
        status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
        progress: { ...progress, nullable: true },
        createdAt: { type: 'string', format: 'date-time' },
        startedAt: { type: 'string', format: 'date-time', nullable: true },
        finishedAt: { type: 'string', format: 'date-time', nullable: true },
        error: ref('Error'),
        result: {
          type: 'object',
          properties: {
            format: { type: 'string' },
            contentType: { type: 'string' },
            bytes: { type: 'integer' },
            width: { type: 'integer' },
            height: { type: 'integer' },
            bands: { type: 'integer' },
            dtype: { type: 'string' },
            info: { type: 'object' },
          },
        },
        links: { type: 'object', properties: { self: { type: 'string' }, events: { type: 'string' }, result: { type: 'string' } } },
      },
    },
    ...optionSchemas,
  };
}

/** The OpenAPI 3.0 description of the routes in API_ROUTES, with the tasks registered right now. */
export function buildOpenApiDocument(runtime: Runtime, context: OpenApiContext): Json {
  const taskIds = servedTasks(runtime).map((t) => t.id);
  const limits = `Limits: ${context.maxBodyBytes} bytes per body, ${context.maxPixels} pixels per image.`;
  const ops = operations(taskIds, limits);
  const paths: Record<string, Json> = {};
  for (const route of API_ROUTES) {
    const path = toOpenApiPath(route.path);
    const operation: Json = { operationId: route.operationId, summary: route.summary, ...ops[route.operationId] };
    operation.security = route.auth && context.authRequired ? [{ apiKey: [] }, { bearer: [] }] : [];
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'diffusekit',
      version: CORE_VERSION,
      description: 'Diffusion-model image analysis (super-resolution, restoration, segmentation) over HTTP. Errors are JSON {code, message}.',
    },
    servers: [{ url: context.baseUrl || '/' }],
    paths,
    components: {
      schemas: schemas(runtime),
      responses: {
        Unauthorized: errorResponse('UNAUTHORIZED: missing or wrong API key'),
        ServerError: errorResponse('A server fault; only its code is shown'),
      },
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}
