import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Redis for the queue tests. CI (.ci/run) starts one and sets DIFFUSEKIT_TEST_REDIS_URL; elsewhere the tests start
 * their own redis-server when the binary is installed, and are skipped (with a message) when it is not. With CI=true
 * a missing Redis is a failure, never a skip.
 */
export const REDIS_URL = process.env.DIFFUSEKIT_TEST_REDIS_URL;

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export const REDIS_SERVER_AVAILABLE = hasRedisServer();
export const REDIS_AVAILABLE = REDIS_URL !== undefined || REDIS_SERVER_AVAILABLE;

if (process.env.CI === 'true' && (REDIS_URL === undefined || !REDIS_SERVER_AVAILABLE)) {
  // CI must run these tests: .ci/run installs redis-server and starts one for them.
  throw new Error('CI=true but the queue tests have no Redis: .ci/run must set DIFFUSEKIT_TEST_REDIS_URL and install redis-server');
}
if (!REDIS_AVAILABLE) {
  process.stderr.write('queue tests skipped: no DIFFUSEKIT_TEST_REDIS_URL and no redis-server on PATH (apt-get install redis-server)\n');
}

/** `describe` when Redis is available, `describe.skip` otherwise. */
export const describeWithRedis: jest.Describe = REDIS_AVAILABLE ? describe : describe.skip;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface TestRedis {
  url: string;
  /** A key prefix of its own, so that tests sharing one Redis never see each other's jobs. */
  prefix: string;
  /** Restarts the server (only for a server this helper started); its data survives through the append-only file. */
  restart?: () => Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;
const uniquePrefix = (): string => `t${process.pid}x${Date.now().toString(36)}x${counter++}`;

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const { Redis } = await import('ioredis');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch {
      client.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

/**
 * A Redis for one test file: the CI one (with a fresh prefix), or a redis-server of its own on 127.0.0.1 in a temp
 * folder (`ownServer` forces that, for tests that restart it; `password` makes it require one).
 */
export async function startTestRedis(options: { ownServer?: boolean; password?: string; tls?: boolean } = {}): Promise<TestRedis & { caFile?: string }> {
  if (REDIS_URL && !options.ownServer && !options.password && !options.tls) return { url: REDIS_URL, prefix: uniquePrefix(), stop: async () => undefined };
  if (!REDIS_SERVER_AVAILABLE) throw new Error('this test needs redis-server on PATH');
  const dir = await mkdtemp(path.join(tmpdir(), 'diffusekit-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
  if (options.password) args.push('--requirepass', options.password);
  if (options.tls) {
    makeCertificates(dir);
    args.splice(0, 2, '--port', '0', '--tls-port', String(port));
    args.push('--tls-cert-file', path.join(dir, 'server.pem'), '--tls-key-file', path.join(dir, 'server.key'), '--tls-ca-cert-file', path.join(dir, 'ca.pem'), '--tls-auth-clients', 'no');
  }
  let child = spawn('redis-server', args, { stdio: 'ignore' });
  const ping = async (): Promise<void> => {
    if (!options.password && !options.tls) return waitForPort(port, child);
    await new Promise((r) => setTimeout(r, 300)); // the unauthenticated ping above would be refused
  };
  await ping();
  const stopChild = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    ...(options.tls ? { caFile: path.join(dir, 'ca.pem') } : {}),
    prefix: uniquePrefix(),
    restart: async () => {
      await stopChild();
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await ping();
    },
    stop: async () => {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const OPENSSL_AVAILABLE = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** A throw-away certificate authority and a server certificate for 127.0.0.1, made with the openssl command. */
function makeCertificates(dir: string): void {
  const run = (...args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=diffusekit-test-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
}
