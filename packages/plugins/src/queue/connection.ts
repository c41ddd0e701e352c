import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { DiffusekitError } from '@diffusekit/core';

/** How to reach Redis: what BullMQ and ioredis take, plus a printable description with no secret in it. */
export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: { ca?: Buffer; servername?: string };
  /** The URL with the password replaced by "***", safe for logs and error messages. */
  readonly display: string;
}

export interface ConnectionEnv {
  /** Used when the URL carries no password. */
  DIFFUSEKIT_REDIS_PASSWORD?: string;
  /** Used when the URL carries no user name. */
  DIFFUSEKIT_REDIS_USERNAME?: string;
  /** A PEM file of certificate authorities to trust for rediss:// (default: the system's). */
  DIFFUSEKIT_REDIS_CA?: string;
}

const REDACTED = '***';

/**
 * Parses redis://[user[:password]@]host[:port][/db] or rediss://... (TLS). Credentials come from the URL, or from
 * DIFFUSEKIT_REDIS_USERNAME / DIFFUSEKIT_REDIS_PASSWORD when the URL has none, so that they need not appear on a
 * command line. Nothing returned or thrown contains the password, except the `password` field itself.
 */
export function parseRedisUrl(text: string, env: ConnectionEnv = process.env as ConnectionEnv): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DiffusekitError('INVALID_OPTION', `Expected a Redis URL such as redis://host:6379 or rediss://user:password@host:6380/0 for queue but received ${JSON.stringify(redactUrlText(text))}`, {
      details: { option: 'queue' },
    });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new DiffusekitError('INVALID_OPTION', `Expected a redis:// or rediss:// URL for queue but received the scheme "${url.protocol}"`, {
      details: { option: 'queue' },
    });
  }
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isSafeInteger(db) || db < 0) {
    throw new DiffusekitError('INVALID_OPTION', `Expected a database number after the host in the queue URL but received "/${dbText}"`, { details: { option: 'queue' } });
  }
  const username = url.username !== '' ? decodeURIComponent(url.username) : env.DIFFUSEKIT_REDIS_USERNAME || undefined;
  const password = url.password !== '' ? decodeURIComponent(url.password) : env.DIFFUSEKIT_REDIS_PASSWORD || undefined;
  let tls: RedisConnection['tls'];
  if (url.protocol === 'rediss:') {
    // SNI carries host names only (RFC 6066); for an IP address the certificate is checked against the address.
    tls = isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) ? {} : { servername: url.hostname };
    if (env.DIFFUSEKIT_REDIS_CA) {
      try {
        tls.ca = readFileSync(env.DIFFUSEKIT_REDIS_CA);
      } catch (error) {
        throw new DiffusekitError('FILE_NOT_FOUND', `Could not read DIFFUSEKIT_REDIS_CA ${env.DIFFUSEKIT_REDIS_CA}: ${(error as Error).message}`);
      }
    }
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  const shown = new URL(url.href);
  if (shown.password !== '') shown.password = REDACTED;
  else if (password !== undefined) shown.password = REDACTED; // from the environment: still say that there is one
  return {
    host: hostname,
    port,
    db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    display: shown.href.replace(/\/$/, ''),
  };
}

/** Options for an ioredis client (BullMQ's `connection`). */
export function ioredisOptions(connection: RedisConnection, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: connection.host,
    port: connection.port,
    db: connection.db,
    ...(connection.username !== undefined ? { username: connection.username } : {}),
    ...(connection.password !== undefined ? { password: connection.password } : {}),
    ...(connection.tls ? { tls: connection.tls } : {}),
    // Workers block on Redis; BullMQ needs commands to wait through reconnects instead of failing after N retries.
    maxRetriesPerRequest: null,
    ...overrides,
  };
}

/** A URL-looking text with any password in it replaced (for messages about a URL that did not parse). */
function redactUrlText(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, `$1${REDACTED}@`);
}

/** Replaces every occurrence of the connection's password, and any URL password, in a message. */
export function redact(message: string, connection?: Pick<RedisConnection, 'password'>): string {
  let out = redactUrlText(message);
  const secret = connection?.password;
  if (secret) out = out.split(secret).join(REDACTED);
  return out;
}

/** An error about the queue, with the password removed from the message of anything Redis or the network said. */
export function queueUnavailable(what: string, error: unknown, connection: RedisConnection): DiffusekitError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DiffusekitError('QUEUE_UNAVAILABLE', redact(`${what} (${connection.display}): ${reason}`, connection));
}

/** Passes a message on unless the same one went out less than `quietMs` ago (a Redis that is down repeats itself). */
export function quietRepeats(write: (message: string) => void, quietMs = 10_000): (message: string) => void {
  const last = new Map<string, number>();
  return (message) => {
    const now = Date.now();
    if (now - (last.get(message) ?? -Infinity) < quietMs) return;
    last.set(message, now);
    if (last.size > 100) last.clear();
    write(message);
  };
}
