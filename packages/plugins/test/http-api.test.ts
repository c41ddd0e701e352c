import express from 'express';
import request from 'supertest';
import { decodeImage, type Runtime } from '@diffusekit/core';
import { createRouter } from '@diffusekit/plugins';
import { Gate, binaryParser, gradient, imageBytes, testApp, testModels, testRuntime } from './http-helpers.js';

let runtime: Runtime;
const faults: unknown[] = [];

beforeAll(async () => {
  runtime = await testRuntime(new Gate());
});
afterAll(async () => {
  await runtime.close();
});

const app = (options: Parameters<typeof testApp>[1] = {}, mount = '') => testApp(runtime, { onError: (e) => faults.push(e), ...options }, mount).app;

async function decoded(body: Buffer) {
  return (await decodeImage(body)).raster;
}

describe('discovery routes', () => {
  it('GET /v1/health reports status, version, workers and queue', async () => {
    const res = await request(app({ concurrency: 2, maxQueued: 3 })).get('/v1/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', workers: 1, queue: { running: 0, queued: 0, concurrency: 2, maxQueued: 3 }, jobsKept: 0 });
    expect(res.body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('GET /v1/tasks lists the image tasks with their option specs and usable models', async () => {
    const res = await request(app()).get('/v1/tasks').expect(200);
    const ids = res.body.tasks.map((t: { id: string }) => t.id);
    expect(ids).toEqual(['tiny', 'gated', 'broken', 'orphan']);
    const tiny = res.body.tasks[0];
    expect(tiny).toMatchObject({ id: 'tiny', defaultModel: 'tiny-ddpm', models: ['tiny-ddpm'] });
    expect(tiny.options).toEqual(JSON.parse(JSON.stringify(runtime.task('tiny').options)));
    expect(res.body.tasks[3].models).toEqual([]);
  });

  it('GET /v1/models lists models by id with the tasks that use them, and no server paths', async () => {
    const res = await request(app()).get('/v1/models').expect(200);
    expect(res.body.models).toEqual([
      expect.objectContaining({ id: 'tiny-ddpm', family: 'ddpm', channels: 3, license: 'Apache-2.0', tasks: ['tiny', 'gated', 'broken'] }),
    ]);
    expect(JSON.stringify(res.body)).not.toContain(await testModels());
  });
});

describe('OpenAPI document', () => {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
  }

  it('documents every API route the router serves', async () => {
    const { app: server, router } = testApp(runtime);
    const doc = (await request(server).get('/v1/openapi.json').expect(200)).body;
    expect(doc.openapi).toMatch(/^3\./);
    const served = (router.stack as Layer[])
      .filter((l) => l.route?.path.startsWith('/v1/'))
      .flatMap((l) => Object.keys(l.route!.methods).filter((m) => m !== '_all').map((m) => `${m} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`));
    expect(served.length).toBeGreaterThanOrEqual(10);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('serves every documented path and method (none answers ROUTE_NOT_FOUND or METHOD_NOT_ALLOWED)', async () => {
    const server = app();
    const doc = (await request(server).get('/v1/openapi.json').expect(200)).body;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        const concrete = path.replace('{task}', 'tiny').replace('{id}', 'no-such-job');
        const res = await (request(server) as unknown as Record<string, (p: string) => request.Test>)[method]!(concrete);
        expect([method, path, res.status, res.body?.code]).not.toEqual([method, path, 404, 'ROUTE_NOT_FOUND']);
        expect(res.status).not.toBe(405);
      }
    }
  });

  it('names the mount point, the served tasks and their options', async () => {
    const doc = (await request(app({}, '/dk')).get('/dk/v1/openapi.json').expect(200)).body;
    expect(doc.servers).toEqual([{ url: '/dk' }]);
    expect(doc.paths['/v1/tasks/{task}'].post.parameters[0].schema.enum).toEqual(['tiny', 'gated', 'broken', 'orphan']);
    expect(doc.components.schemas['Options.tiny'].properties.steps).toMatchObject({ type: 'integer', minimum: 1, maximum: 20, default: 2 });
    expect(doc.components.schemas['Options.tiny'].properties.mode.enum).toEqual(['eps', 'identity']);
  });
});

describe('POST /v1/tasks/:task', () => {
  it('runs a raw PNG body and answers with a PNG of the result, its model and run facts', async () => {
    const input = await imageBytes('png');
    const res = await request(app()).post('/v1/tasks/tiny').set('Content-Type', 'image/png').send(input).buffer(true).parse(binaryParser).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-diffusekit-model']).toBe('tiny-ddpm');
    expect(JSON.parse(res.headers['x-diffusekit-info'] as string)).toEqual({ steps: 2, note: 'déjà vu' });
    const out = await decoded(res.body);
    expect([out.width, out.height, out.bands, out.dtype]).toEqual([16, 16, 3, 'uint8']);
    expect(Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength).equals(Buffer.from(gradient(16, 16).data as Uint8Array))).toBe(false);
    // Deterministic: the same request gives the same bytes.
    const again = await request(app()).post('/v1/tasks/tiny').send(input).buffer(true).parse(binaryParser).expect(200);
    expect(again.body.equals(res.body)).toBe(true);
  });

  it('takes options as multipart fields, converted by their specs', async () => {
    const res = await request(app())
      .post('/v1/tasks/tiny')
      .field('mode', 'identity')
      .field('invert', 'true')
      .field('order', '2,1,0')
      .field('steps', '3')
      .attach('image', await imageBytes('png'), 'in.png')
      .buffer(true)
      .parse(binaryParser)
      .expect(200);
    const out = await decoded(res.body);
    const input = gradient(16, 16).data as Uint8Array;
    const plane = 256;
    const expected = new Uint8Array(3 * plane);
    [2, 1, 0].forEach((source, band) => {
      for (let i = 0; i < plane; i++) expected[band * plane + i] = 255 - input[source * plane + i]!;
    });
    expect(Array.from(out.data)).toEqual(Array.from(expected));
    expect(JSON.parse(res.headers['x-diffusekit-info'] as string).steps).toBe(3);
  });

  it('takes options from the query string with a raw body, and gives the same answer', async () => {
    const input = await imageBytes('png');
    const viaQuery = await request(app()).post('/v1/tasks/tiny?mode=identity&invert=1&order=2&order=1&order=0').send(input).buffer(true).parse(binaryParser).expect(200);
    const viaForm = await request(app())
      .post('/v1/tasks/tiny')
      .field('mode', 'identity')
      .field('invert', 'true')
      .field('order', '2,1,0')
      .attach('image', input, 'in.png')
      .buffer(true)
      .parse(binaryParser)
      .expect(200);
    expect(viaQuery.body.equals(viaForm.body)).toBe(true);
  });

  it("answers in the input's format by default, or in the one asked for", async () => {
    const jpeg = await request(app()).post('/v1/tasks/tiny').send(await imageBytes('jpeg')).buffer(true).parse(binaryParser).expect(200);
    expect(jpeg.headers['content-type']).toBe('image/jpeg');
    expect((await decodeImage(jpeg.body)).format).toBe('jpeg');
    const tiff = await request(app()).post('/v1/tasks/tiny?format=tif').send(await imageBytes('png')).buffer(true).parse(binaryParser).expect(200);
    expect(tiff.headers['content-type']).toBe('image/tiff');
    expect(tiff.headers['content-disposition']).toBe('inline; filename="result.tif"');
    expect((await decodeImage(tiff.body)).format).toBe('tiff');
  });

  it('refuses bad options with INVALID_OPTION naming the option and what is accepted', async () => {
    const png = await imageBytes('png');
    const notInteger = await request(app()).post('/v1/tasks/tiny?steps=abc').send(png).expect(400);
    expect(notInteger.body).toEqual({
      code: 'INVALID_OPTION',
      message: 'Expected an integer for steps but received string "abc"',
      details: { option: 'steps', expected: 'an integer' },
    });
    const outOfRange = await request(app()).post('/v1/tasks/tiny?steps=99').send(png).expect(400);
    expect(outOfRange.body.message).toBe('Expected an integer from 1 to 20 for steps but received number 99');
    const notBoolean = await request(app()).post('/v1/tasks/tiny?invert=maybe').send(png).expect(400);
    expect(notBoolean.body.details.option).toBe('invert');
    const unknown = await request(app()).post('/v1/tasks/tiny?colour=red').send(png).expect(400);
    expect(unknown.body.message).toBe('Unknown option "colour" for task "tiny". Should be one of: steps, strength, invert, mode, order');
    const twice = await request(app()).post('/v1/tasks/tiny?steps=2').field('steps', '3').attach('image', png, 'in.png').expect(400);
    expect(twice.body.code).toBe('INVALID_OPTION');
    const format = await request(app()).post('/v1/tasks/tiny?format=bmp').send(png).expect(400);
    expect(format.body.message).toBe('Expected one of png, jpeg, webp, tiff, geotiff, dicom, nifti for format but received string "bmp"');
  });

  it('refuses missing, unknown and corrupt images with EMPTY_INPUT, UNSUPPORTED_FORMAT (415) and DECODE_FAILED', async () => {
    const empty = await request(app()).post('/v1/tasks/tiny').set('Content-Type', 'image/png').send(Buffer.alloc(0)).expect(400);
    expect(empty.body).toEqual({ code: 'EMPTY_INPUT', message: 'The request carries no image; send the image as the request body' });
    const noFile = await request(app()).post('/v1/tasks/tiny').field('steps', '2').expect(400);
    expect(noFile.body).toEqual({ code: 'EMPTY_INPUT', message: 'The request carries no image; send a file in the field "image"' });
    const text = await request(app()).post('/v1/tasks/tiny').set('Content-Type', 'text/plain').send('hello, not an image').expect(415);
    expect(text.body.code).toBe('UNSUPPORTED_FORMAT');
    const png = await imageBytes('png');
    const truncated = await request(app()).post('/v1/tasks/tiny').send(png.subarray(0, 40)).expect(400);
    expect(truncated.body.code).toBe('DECODE_FAILED');
    const wrongField = await request(app()).post('/v1/tasks/tiny').attach('picture', png, 'in.png').expect(400);
    expect(wrongField.body.message).toBe('Unexpected file field "picture"; send the image in the field "image"');
  });

  it('passes a task refusal of the image through as a 400 with its code', async () => {
    const res = await request(app()).post('/v1/tasks/tiny').send(await imageBytes('png', 16, 16, 2)).expect(400);
    expect(res.body.code).toBe('BAND_SELECTION_INVALID');
  });

  it('answers 404 for unknown or non-image tasks and unknown models, and never treats a model as a path', async () => {
    const png = await imageBytes('png');
    const task = await request(app()).post('/v1/tasks/upscale').send(png).expect(404);
    expect(task.body.message).toBe('Unknown task "upscale". Should be one of: tiny, gated, broken, orphan');
    expect((await request(app()).post('/v1/tasks/custom-stats').send(png).expect(404)).body.code).toBe('TASK_NOT_FOUND');
    const model = await request(app()).post('/v1/tasks/tiny?model=sr3-x9').send(png).expect(404);
    expect(model.body.code).toBe('MODEL_NOT_FOUND');
    expect(model.body.message).toContain('Unknown model "sr3-x9". Should be one of: tiny-ddpm');
    for (const pathLike of ['../../test/models/tiny-ddpm', '/etc/passwd', 'tiny-ddpm/model.json']) {
      const res = await request(app()).post('/v1/tasks/tiny').query({ model: pathLike }).send(png).expect(404);
      expect(res.body.message).toContain('Expected a model id matching');
    }
    const incompatible = await request(app()).post('/v1/tasks/orphan').send(png).expect(400);
    expect(incompatible.body.code).toBe('MODEL_INCOMPATIBLE');
  });

  it('answers 413 IMAGE_TOO_LARGE for a body over the byte limit, before reading it', async () => {
    const big = await imageBytes('png', 64, 64);
    expect(big.length).toBeGreaterThan(1000);
    const raw = await request(app({ maxBodyBytes: 1000 })).post('/v1/tasks/tiny').send(big).expect(413);
    expect(raw.body.code).toBe('IMAGE_TOO_LARGE');
    expect(raw.body.message).toContain('larger than the limit of 1000 bytes');
    const form = await request(app({ maxBodyBytes: 1000 })).post('/v1/tasks/tiny').attach('image', big, 'big.png').expect(413);
    expect(form.body.code).toBe('IMAGE_TOO_LARGE');
  });

  it('answers 413 IMAGE_TOO_LARGE from the header alone for an image over the pixel limit', async () => {
    const res = await request(app({ maxPixels: 255 })).post('/v1/tasks/tiny').send(await imageBytes('png', 16, 16)).expect(413);
    expect(res.body).toEqual({
      code: 'IMAGE_TOO_LARGE',
      message: "The image is 16x16 = 256 pixels, more than this server's limit of 255",
      details: { width: 16, height: 16, pixels: 256, maxPixels: 255 },
    });
    await request(app({ maxPixels: 256 })).post('/v1/tasks/tiny').send(await imageBytes('png', 16, 16)).expect(200);
  });

  it('answers a server fault with 500 and its code only, and reports it to onError', async () => {
    faults.length = 0;
    const res = await request(app()).post('/v1/tasks/broken').send(await imageBytes('png')).expect(500);
    expect(res.body).toEqual({ code: 'ENGINE_FAILED', message: 'The server could not complete the request (ENGINE_FAILED)' });
    expect(res.text).not.toContain('secret');
    expect(faults).toHaveLength(1);
    expect(String((faults[0] as Error).message)).toContain('/srv/secret/weights.bin');
  });
});

describe('routing', () => {
  it('answers unknown routes with 404 ROUTE_NOT_FOUND and wrong methods with 405 and Allow', async () => {
    const missing = await request(app()).get('/v1/nothing').expect(404);
    expect(missing.body).toEqual({ code: 'ROUTE_NOT_FOUND', message: 'No route GET /v1/nothing; see /v1/openapi.json' });
    const wrong = await request(app()).put('/v1/jobs').expect(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(wrong.body.code).toBe('METHOD_NOT_ALLOWED');
    const getTask = await request(app()).get('/v1/tasks/tiny').expect(405);
    expect(getTask.headers.allow).toBe('POST');
    const job = await request(app()).patch('/v1/jobs/abc').expect(405);
    expect(job.headers.allow).toBe('GET, DELETE');
  });

  it('answers a malformed path with 400 JSON, and takes a body that a host parser has already read', async () => {
    const bad = await request(app()).get('/v1/jobs/%E0%A4%A').expect(400);
    expect(bad.body).toEqual({ code: 'INVALID_ARGUMENT', message: expect.any(String) });
    const host = express();
    host.use(express.raw({ type: 'image/*', limit: '1mb' }));
    host.use(createRouter(runtime));
    const res = await request(host).post('/v1/tasks/tiny').set('Content-Type', 'image/png').send(await imageBytes('png')).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
  });

  it('works under any mount point', async () => {
    const server = app({}, '/dk');
    await request(server).get('/dk/v1/health').expect(200);
    await request(server).post('/dk/v1/tasks/tiny').send(await imageBytes('png')).expect(200);
    const job = await request(server).post('/dk/v1/jobs?task=tiny').send(await imageBytes('png')).expect(202);
    expect(job.headers.location).toBe(`/dk/v1/jobs/${job.body.id}`);
    expect(job.body.links.events).toBe(`/dk/v1/jobs/${job.body.id}/events`);
    const missing = await request(server).get('/dk/v1/nope').expect(404);
    expect(missing.body.message).toContain('/dk/v1/openapi.json');
  });

  it('serves the web page with a strict content security policy', async () => {
    const page = await request(app()).get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/https?:\/\//);
    const script = await request(app()).get('/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.text).not.toMatch(/https?:\/\//);
    expect((await request(app({}, '/dk')).get('/dk').expect(301)).headers.location).toBe('/dk/');
    await request(app({ webPage: false })).get('/').expect(404);
  });
});

describe('router options', () => {
  it('are checked up front with INVALID_OPTION', () => {
    const attempt = (options: object) => {
      try {
        testApp(runtime, options);
      } catch (error) {
        return (error as { code: string; message: string });
      }
      throw new Error('expected createRouter to throw');
    };
    expect(attempt({ maxPixels: 0 }).message).toBe('Expected a positive integer for maxPixels but received number 0');
    expect(attempt({ apiKey: 'short' }).code).toBe('INVALID_OPTION');
    expect(attempt({ cors: { origins: ['https://a.example/path'] } }).code).toBe('INVALID_OPTION');
    expect(attempt({ maxQueued: 1.5 }).code).toBe('INVALID_OPTION');
  });

});
