import request from 'supertest';
import type { Runtime } from '@diffusekit/core';
import { Gate, imageBytes, testApp, testRuntime } from './http-helpers.js';

let runtime: Runtime;
let gate: Gate;

beforeAll(async () => {
  gate = new Gate();
  runtime = await testRuntime(gate);
});
afterAll(async () => {
  gate.open();
  await runtime.close();
});

const KEY = 'k3y-for-tests-only';

describe('API key', () => {
  const app = () => testApp(runtime, { apiKey: [KEY, 'second-key-1234'] }).app;

  it('answers 401 UNAUTHORIZED without a key or with a wrong one', async () => {
    const missing = await request(app()).get('/v1/tasks').expect(401);
    expect(missing.body).toEqual({ code: 'UNAUTHORIZED', message: 'This server needs an API key in the X-API-Key header (or Authorization: Bearer)' });
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="diffusekit"');
    const wrong = await request(app()).get('/v1/models').set('X-API-Key', 'not-the-key').expect(401);
    expect(wrong.body).toEqual({ code: 'UNAUTHORIZED', message: 'The API key is not valid' });
    await request(app()).get('/v1/jobs/anything').set('Authorization', `Bearer ${KEY}x`).expect(401);
  });

  it('refuses an upload without a key before reading it', async () => {
    const res = await request(app()).post('/v1/tasks/tiny').send(await imageBytes('png')).expect(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    await request(app()).post('/v1/jobs?task=tiny').send(await imageBytes('png')).expect(401);
    expect(gate.signals).toHaveLength(0);
  });

  it('accepts any configured key in X-API-Key or as a bearer token', async () => {
    await request(app()).get('/v1/tasks').set('X-API-Key', KEY).expect(200);
    await request(app()).get('/v1/tasks').set('Authorization', 'Bearer second-key-1234').expect(200);
    await request(app()).post('/v1/tasks/tiny').set('X-API-Key', KEY).send(await imageBytes('png')).expect(200);
  });

  it('leaves health, the OpenAPI document and the page open, and documents the scheme', async () => {
    await request(app()).get('/v1/health').expect(200);
    await request(app()).get('/').expect(200);
    const doc = (await request(app()).get('/v1/openapi.json').expect(200)).body;
    expect(doc.paths['/v1/tasks'].get.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
    expect(doc.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
  });
});

describe('CORS', () => {
  const allowed = 'https://app.example';

  it('is off unless configured', async () => {
    const res = await request(testApp(runtime).app).get('/v1/health').set('Origin', allowed).expect(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('echoes an allowed origin, exposes the useful headers, and ignores other origins', async () => {
    const { app } = testApp(runtime, { cors: { origins: [allowed] } });
    const ok = await request(app).get('/v1/tasks').set('Origin', allowed).expect(200);
    expect(ok.headers['access-control-allow-origin']).toBe(allowed);
    expect(ok.headers.vary).toContain('Origin');
    expect(ok.headers['access-control-expose-headers']).toContain('Retry-After');
    const other = await request(app).get('/v1/tasks').set('Origin', 'https://evil.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers preflight requests without asking for the API key', async () => {
    const { app } = testApp(runtime, { cors: { origins: [allowed], maxAgeSeconds: 60 }, apiKey: KEY });
    const res = await request(app)
      .options('/v1/tasks/tiny')
      .set('Origin', allowed)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'x-api-key, content-type')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(allowed);
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type, X-API-Key, Authorization');
    expect(res.headers['access-control-max-age']).toBe('60');
  });

  it("puts CORS headers on error answers too, so browser clients can read them (cors: true allows '*')", async () => {
    const { app } = testApp(runtime, { cors: true, apiKey: KEY });
    const res = await request(app).get('/v1/tasks').set('Origin', 'https://anywhere.example').expect(401);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body.code).toBe('UNAUTHORIZED');
  });
});
