import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { HttpError } from './http-errors.js';
import type { ResolvedRouterOptions } from './options.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return authorization?.[1];
}

/** Refuses requests without one of the keys (401). Keys are compared as digests, in constant time. */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  const accepted = keys.map(digest);
  return (req, _res, next) => {
    const key = presentedKey(req);
    const given = key === undefined ? undefined : digest(key);
    if (given && accepted.some((k) => timingSafeEqual(k, given))) return next();
    const message = key === undefined ? 'This server needs an API key in the X-API-Key header (or Authorization: Bearer)' : 'The API key is not valid';
    next(new HttpError(401, 'UNAUTHORIZED', message, { 'WWW-Authenticate': 'Bearer realm="diffusekit"' }));
  };
}

/** Headers a browser script may read from an answer. */
const EXPOSED_HEADERS = 'Retry-After, Location, Content-Disposition, X-Diffusekit-Model, X-Diffusekit-Info';
const ALLOWED_HEADERS = 'Content-Type, X-API-Key, Authorization';
const ALLOWED_METHODS = 'GET, POST, DELETE';

/** Adds CORS headers for allowed origins and answers preflight requests. */
export function cors(options: NonNullable<ResolvedRouterOptions['cors']>): RequestHandler {
  const allows = (origin: string): boolean => options.origins === '*' || options.origins.includes(origin);
  return (req, res, next) => {
    const origin = req.headers.origin;
    const allowed = typeof origin === 'string' && allows(origin);
    if (options.origins !== '*') res.vary('Origin');
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', options.origins === '*' ? '*' : origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      if (allowed) {
        res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
        res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
        res.setHeader('Access-Control-Max-Age', String(options.maxAgeSeconds));
      }
      res.status(204).end();
      return;
    }
    next();
  };
}
