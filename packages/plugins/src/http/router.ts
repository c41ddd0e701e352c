import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import { CORE_VERSION, type Runtime } from '@diffusekit/core';
import { cors, requireApiKey } from './access.js';
import { describeJob } from './describe-job.js';
import { HttpError, sendErrorAnswer, toErrorAnswer, type ErrorAnswer } from './http-errors.js';
import { findServedTask, prepareImageOrder, servedTasks } from './image-order.js';
import { InferenceService, type DrainOptions, type ServiceStats } from './inference-service.js';
import { streamJobEvents } from './job-events.js';
import type { JobRecord } from './job-store.js';
import { buildOpenApiDocument } from './openapi.js';
import { resolveRouterOptions, type RouterOptions } from './options.js';
import { mustCloseAfterEarlyAnswer, readUpload } from './read-upload.js';
import { API_ROUTES, routePattern, type OperationId } from './routes.js';
import { sendImage } from './send-image.js';
import { WEB_PAGE_CSP, WEB_PAGE_HTML, WEB_PAGE_SCRIPT } from './web-page.js';

/** An Express router serving the diffusekit API, plus the controls a host needs for a clean shutdown. */
export interface DiffusekitRouter extends Router {
  /** Stops taking work, cancels queued work, lets running work finish (then cancels it); finished jobs stay readable. */
  drain(options?: DrainOptions): Promise<void>;
  stats(): ServiceStats;
}

const CANCEL_WAIT_MS = 5_000;

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Cache-Control', 'no-store');
  res.json(body);
}

/** Fires `onGone` if the connection closes before the answer has been written. */
function whenClientGone(res: Response, onGone: () => void): void {
  res.on('close', () => {
    if (!res.writableFinished) onGone();
  });
}

/**
 * Creates the Express router of the HTTP API (mount it anywhere: `app.use('/diffusekit', createRouter(runtime))`).
 * Inference runs through the runtime's engine: create it with `engine: { workers: n }` so that it runs in worker
 * threads and never blocks the event loop.
 */
export function createRouter(runtime: Runtime, options: RouterOptions = {}): DiffusekitRouter {
  const config = resolveRouterOptions(options, runtime.engine.options.workers ?? 0);
  const service = new InferenceService(runtime, config);
  const startedAt = Date.now();
  const { retryAfterSeconds } = config;
  const router = express.Router();

  const answerFor = (error: unknown): ErrorAnswer => toErrorAnswer(error, { draining: service.draining, retryAfterSeconds });

  const handlers: Record<OperationId, RequestHandler> = {
    getHealth: (_req, res) => {
      const stats = service.stats();
      sendJson(res, stats.draining ? 503 : 200, {
        status: stats.draining ? 'draining' : 'ok',
        version: CORE_VERSION,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        workers: runtime.engine.options.workers ?? 0,
        queue: { backend: stats.backend, running: stats.running, queued: stats.queued, concurrency: stats.concurrency, maxQueued: stats.maxQueued },
        jobsKept: stats.jobsKept,
      });
    },

    getOpenApi: (req, res) => {
      sendJson(res, 200, buildOpenApiDocument(runtime, { baseUrl: req.baseUrl, authRequired: config.apiKeys.length > 0, ...config }));
    },

    listModels: async (_req, res) => {
      const tasks = servedTasks(runtime);
      const models = await runtime.models();
      sendJson(res, 200, {
        models: models.map(({ manifest: m }) => ({
          id: m.id,
          version: m.version,
          family: m.task,
          channels: m.channels,
          ...(m.scale === undefined ? {} : { scale: m.scale }),
          license: m.license,
          trainedOn: m.trainedOn,
          ...(m.metrics === undefined ? {} : { metrics: m.metrics }),
          tasks: tasks.filter((t) => t.accepts(m)).map((t) => t.id),
        })),
      });
    },

    listTasks: async (_req, res) => {
      const models = await runtime.models();
      sendJson(res, 200, {
        tasks: servedTasks(runtime).map((t) => ({
          id: t.id,
          description: t.description,
          defaultModel: t.defaultModel,
          models: models.filter((m) => t.accepts(m.manifest)).map((m) => m.manifest.id),
          options: t.options,
        })),
      });
    },

    runTask: async (req, res) => {
      let gone = false;
      let cancel: (() => void) | undefined;
      whenClientGone(res, () => {
        gone = true;
        cancel?.();
      });
      const taskId = req.params.task as string;
      findServedTask(runtime, taskId); // an unknown task answers 404 before the body is read
      const upload = await readUpload(req, config.maxBodyBytes);
      const order = await prepareImageOrder(runtime, { taskId, query: req.query, upload, maxPixels: config.maxPixels, codecs: service.codecs, remote: service.remote });
      if (gone) return;
      const submitted = service.submit(order);
      const job = submitted instanceof Promise ? await submitted : submitted;
      cancel = () => job.cancel('the client disconnected');
      if (gone) cancel();
      const result = await job.result();
      sendImage(res, result, order.modelId);
    },

    createJob: async (req, res) => {
      const upload = await readUpload(req, config.maxBodyBytes);
      const order = await prepareImageOrder(runtime, { query: req.query, upload, maxPixels: config.maxPixels, codecs: service.codecs, remote: service.remote });
      const created = service.createJob(order);
      // In-process, the answer shows the job as it was created (queued): no await lets the queue start it first.
      const record = created instanceof Promise ? await created : created;
      const description = describeJob(record, req.baseUrl, retryAfterSeconds);
      res.setHeader('Location', description.links.self);
      sendJson(res, 202, description);
    },

    getJob: async (req, res) => {
      sendJson(res, 200, describeJob(await service.findJob(req.params.id as string), req.baseUrl, retryAfterSeconds));
    },

    cancelJob: async (req, res) => {
      const record = await service.findJob(req.params.id as string);
      if (!record.job.finished) {
        record.job.cancel('cancelled by the client');
        // A running job stops at its next step; wait a little so that the answer usually shows the final state.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([record.job.result().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, CANCEL_WAIT_MS)))]);
        clearTimeout(timer);
      }
      sendJson(res, 200, describeJob(record, req.baseUrl, retryAfterSeconds));
    },

    streamJobEvents: async (req, res) => {
      streamJobEvents(res, await service.findJob(req.params.id as string), { baseUrl: req.baseUrl, retryAfterSeconds });
    },

    getJobResult: async (req, res) => {
      const record: JobRecord = await service.findJob(req.params.id as string);
      const { job } = record;
      if (job.status === 'succeeded') return sendImage(res, job.value!, record.model);
      if (job.status === 'cancelled') {
        return sendErrorAnswer(res, { status: 409, headers: {}, body: { code: 'ABORTED', message: `Job ${job.id} was cancelled; it has no result` } });
      }
      if (job.status === 'failed') return sendErrorAnswer(res, answerFor(job.error));
      throw new HttpError(409, 'JOB_NOT_FINISHED', `Job ${job.id} is ${job.status}; its result is not ready yet`, {
        'Retry-After': String(retryAfterSeconds),
      });
    },
  };

  if (config.cors) router.use(cors(config.cors));

  if (config.webPage) {
    router.get('/', (req, res) => {
      // Relative links in the page need the mount point to end with a slash.
      const [path, query] = req.originalUrl.split('?');
      if (!path!.endsWith('/')) return res.redirect(301, `${path}/${query === undefined ? '' : `?${query}`}`);
      res.setHeader('Content-Security-Policy', WEB_PAGE_CSP);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type('html').send(WEB_PAGE_HTML);
    });
    router.get('/app.js', (_req, res) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type('text/javascript').send(WEB_PAGE_SCRIPT);
    });
  }

  const auth = config.apiKeys.length > 0 ? requireApiKey(config.apiKeys) : undefined;
  for (const route of API_ROUTES) {
    const handler = handlers[route.operationId];
    if (route.auth && auth) router[route.method](route.path, auth, handler);
    else router[route.method](route.path, handler);
  }

  router.use('/v1', (req: Request, _res: Response, next) => {
    const path = `/v1${req.path}`;
    const allowed = API_ROUTES.filter((r) => routePattern(r.path).test(path)).map((r) => r.method.toUpperCase());
    if (allowed.length > 0) {
      next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}. Allowed: ${allowed.join(', ')}`, { Allow: allowed.join(', ') }));
      return;
    }
    next(new HttpError(404, 'ROUTE_NOT_FOUND', `No route ${req.method} ${path}; see ${req.baseUrl}/openapi.json`));
  });

  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    const answer = answerFor(error);
    if (answer.status === 500) config.onError?.(error, { method: req.method, path: req.originalUrl.split('?')[0]! });
    if (mustCloseAfterEarlyAnswer(req)) res.setHeader('Connection', 'close');
    sendErrorAnswer(res, answer);
  };
  router.use(onError);

  return Object.assign(router as Router, {
    drain: (drainOptions?: DrainOptions) => service.drain(drainOptions),
    stats: () => service.stats(),
  }) as DiffusekitRouter;
}
