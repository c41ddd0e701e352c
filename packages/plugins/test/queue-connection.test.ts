import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DiffusekitError } from '@diffusekit/core';
import { FolderResultStore, parseRedisUrl, redact } from '@diffusekit/plugins';

describe('Redis URLs', () => {
  it('reads host, port, database, credentials and TLS, and shows the URL without the password', () => {
    const plain = parseRedisUrl('redis://cache.internal', {});
    expect(plain).toMatchObject({ host: 'cache.internal', port: 6379, db: 0, display: 'redis://cache.internal' });
    expect(plain.password).toBeUndefined();
    expect(plain.tls).toBeUndefined();
    const full = parseRedisUrl('rediss://app:p%40ss:w0rd@10.0.0.5:6380/3', {});
    expect(full).toMatchObject({ host: '10.0.0.5', port: 6380, db: 3, username: 'app', password: 'p@ss:w0rd', tls: {} });
    expect(parseRedisUrl('rediss://cache.example:6380', {}).tls).toEqual({ servername: 'cache.example' });
    expect(full.display).toBe('rediss://app:***@10.0.0.5:6380/3');
    expect(JSON.stringify(full.display)).not.toContain('w0rd');
  });

  it('takes the credentials from the environment when the URL has none, and still hides them', () => {
    const c = parseRedisUrl('redis://cache:6379', { DIFFUSEKIT_REDIS_PASSWORD: 'from-env', DIFFUSEKIT_REDIS_USERNAME: 'svc' });
    expect(c).toMatchObject({ username: 'svc', password: 'from-env' });
    expect(c.display).not.toContain('from-env');
    expect(parseRedisUrl('redis://:inline@cache', { DIFFUSEKIT_REDIS_PASSWORD: 'from-env' }).password).toBe('inline');
  });

  it('refuses what is not a Redis URL, naming what is accepted, without echoing a password', () => {
    const notUrl = (() => {
      try {
        parseRedisUrl('cache 6379', {});
      } catch (e) {
        return e as DiffusekitError;
      }
    })();
    expect(notUrl).toMatchObject({ code: 'INVALID_OPTION' });
    expect(notUrl!.message).toContain('redis://host:6379');
    expect(() => parseRedisUrl('http://u:topsecret@host', {})).toThrow(/redis:\/\/ or rediss:\/\/ URL .* "http:"/);
    expect(() => parseRedisUrl('redis://host/x', {})).toThrow(/database number/);
    expect(() => parseRedisUrl('localhost:6379', {})).toThrow(/the scheme "localhost:"/);
    expect(() => parseRedisUrl('re dis://u:topsecret@host', {})).toThrow(/re dis:\/\/u:\*\*\*@host/);
  });

  it('redacts passwords in any message', () => {
    expect(redact('failed: redis://me:hunter2@h:1 said no')).toBe('failed: redis://me:***@h:1 said no');
    expect(redact('AUTH hunter2 refused', { password: 'hunter2' })).toBe('AUTH *** refused');
  });
});

describe('FolderResultStore', () => {
  it('writes whole objects atomically, overwrites the same key idempotently, and leaves no temporary file', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'diffusekit-store-'));
    const store = new FolderResultStore(folder);
    await store.put('results/job-1.png', Buffer.from('first'));
    await store.put('results/job-1.png', Buffer.from('second try'));
    expect(Buffer.from(await store.get('results/job-1.png')).toString()).toBe('second try');
    expect(await readdir(path.join(folder, 'results'))).toEqual(['job-1.png']);
    await expect(store.get('results/none.png')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await store.delete('results/job-1.png');
    await store.delete('results/job-1.png');
    expect(await readdir(path.join(folder, 'results'))).toEqual([]);
    await expect(store.put('../escape', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await writeFile(path.join(folder, 'plain'), 'x');
    expect(await readFile(path.join(folder, 'plain'), 'utf8')).toBe('x');
  });
});
