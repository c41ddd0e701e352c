import { request as httpRequest } from 'node:http';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Stream } from 'node:stream';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import {
  DiffusekitError,
  createRaster,
  createRuntime,
  encodeImage,
  invalidOption,
  throwIfAborted,
  type ImageFormat,
  type ImageTaskResult,
  type Plugin,
  type Raster,
  type Runtime,
  type TaskDefinition,
} from '@diffusekit/core';
import { createRouter, type DiffusekitRouter, type RouterOptions } from '@diffusekit/plugins';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let modelsFolder: Promise<string> | undefined;

/** A folder holding only the committed tiny-ddpm test model, so these tests do not depend on what else is there. */
export function testModels(): Promise<string> {
  modelsFolder ??= (async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'diffusekit-http-models-'));
    await cp(path.join(REPO_ROOT, 'test', 'models', 'tiny-ddpm'), path.join(folder, 'tiny-ddpm'), { recursive: true });
    return folder;
  })();
  return modelsFolder;
}

/**
 * Holds the steps of the "gated" task until the test opens it, and records every run's AbortSignal, so that tests
 * can hold work in flight (queue full, cancel, disconnect) without timing.
 */
export class Gate {
  readonly signals: AbortSignal[] = [];
  #open = false;
  #waiters: (() => void)[] = [];
  #runWatchers: { count: number; resolve: () => void }[] = [];

  /** Resolves once `count` runs have started. */
  started(count = 1): Promise<void> {
    if (this.signals.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#runWatchers.push({ count, resolve }));
  }

  /** Resolves when run number `index` (0-based) is aborted. */
  aborted(index = 0): Promise<void> {
    const signal = this.signals[index];
    if (!signal) return Promise.reject(new Error(`run ${index} has not started`));
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  recordRun(signal: AbortSignal): void {
    this.signals.push(signal);
    for (const watcher of [...this.#runWatchers]) {
      if (this.signals.length >= watcher.count) {
        this.#runWatchers.splice(this.#runWatchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  }

  /** Waits until the gate opens or the signal fires (then ABORTED). */
  async pass(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (this.#open) return;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    throwIfAborted(signal);
  }
}

interface TinyOptions {
  steps: number;
  strength: number;
  invert: boolean;
  mode: 'eps' | 'identity';
  order: number[];
}

const clamp = (v: number): number => (v < -1 ? -1 : v > 1 ? 1 : v);

/** Runs the committed tiny ONNX model `steps` times over a 3-band uint8 image, as a diffusion task would. */
export const tinyTask: TaskDefinition<Raster, TinyOptions, ImageTaskResult> = {
  id: 'tiny',
  kind: 'image-to-image',
  description: 'test task: a few steps of the tiny DDPM model',
  defaultModel: 'tiny-ddpm',
  accepts: (m) => m.task === 'ddpm',
  options: [
    { name: 'steps', type: 'integer', description: 'model evaluations', default: 2, min: 1, max: 20 },
    { name: 'strength', type: 'number', description: 'step size', default: 0.5, min: 0, max: 1 },
    { name: 'invert', type: 'boolean', description: 'invert the result', default: false },
    { name: 'mode', type: 'enum', description: 'what a step does', default: 'eps', values: ['eps', 'identity'] },
    { name: 'order', type: 'integer-list', description: 'output band order', default: [0, 1, 2] },
  ],
  parseOptions(raw) {
    const r = raw as Record<string, unknown>;
    const steps = r.steps ?? 2;
    if (!Number.isInteger(steps) || (steps as number) < 1 || (steps as number) > 20) throw invalidOption('steps', 'an integer from 1 to 20', steps);
    const strength = r.strength ?? 0.5;
    if (typeof strength !== 'number' || strength < 0 || strength > 1) throw invalidOption('strength', 'a number from 0 to 1', strength);
    const invert = r.invert ?? false;
    if (typeof invert !== 'boolean') throw invalidOption('invert', 'a boolean', invert);
    const mode = r.mode ?? 'eps';
    if (mode !== 'eps' && mode !== 'identity') throw invalidOption('mode', 'one of eps, identity', mode);
    const order = r.order ?? [0, 1, 2];
    if (!Array.isArray(order) || [...order].sort().join() !== '0,1,2') throw invalidOption('order', 'a permutation of 0,1,2', order);
    return { steps: steps as number, strength, invert, mode, order: order as number[] };
  },
  async load({ engine, model }) {
    const session = await engine.openSession(model);
    return {
      model: model.manifest,
      async run(raster, options, runOptions) {
        if (raster.bands !== 3 || raster.dtype !== 'uint8') {
          throw new DiffusekitError('BAND_SELECTION_INVALID', `The tiny task needs 3 bands of uint8, not ${raster.bands} of ${raster.dtype}`);
        }
        const { width, height } = raster;
        let x = Float32Array.from(raster.data as Uint8Array, (v) => v / 127.5 - 1);
        for (let step = 1; step <= options.steps; step++) {
          throwIfAborted(runOptions?.signal);
          if (options.mode === 'eps') {
            const out = await session.run({ x: { data: x, dims: [1, 3, height, width] }, noise_level: { data: new Float32Array([100]), dims: [1] } });
            const eps = out.out!.data;
            x = x.map((v, i) => clamp(v - options.strength * 0.01 * eps[i]!));
          }
          runOptions?.onProgress?.({ kind: 'step', step, of: options.steps });
        }
        const plane = width * height;
        const data = new Uint8Array(3 * plane);
        options.order.forEach((source, band) => {
          for (let i = 0; i < plane; i++) {
            const v = Math.round((x[source * plane + i]! + 1) * 127.5);
            data[band * plane + i] = options.invert ? 255 - v : v;
          }
        });
        return { raster: createRaster({ width, height, bands: 3, dtype: 'uint8', data }), info: { steps: options.steps, note: 'déjà vu' } };
      },
      async dispose() {},
    };
  },
};

/** Returns its input after `steps` steps, each waiting for the gate. */
export function gatedTask(gate: Gate): TaskDefinition<Raster, { steps: number }, ImageTaskResult> {
  return {
    id: 'gated',
    kind: 'image-to-image',
    description: 'test task: waits for the test at every step',
    defaultModel: 'tiny-ddpm',
    accepts: (m) => m.task === 'ddpm',
    options: [{ name: 'steps', type: 'integer', description: 'steps', default: 2, min: 1, max: 10 }],
    parseOptions(raw) {
      const steps = (raw as { steps?: unknown }).steps ?? 2;
      if (!Number.isInteger(steps) || (steps as number) < 1 || (steps as number) > 10) throw invalidOption('steps', 'an integer from 1 to 10', steps);
      return { steps: steps as number };
    },
    async load({ model }) {
      return {
        model: model.manifest,
        async run(raster, options, runOptions) {
          const signal = runOptions?.signal ?? new AbortController().signal;
          gate.recordRun(signal);
          for (let step = 1; step <= options.steps; step++) {
            await gate.pass(signal);
            runOptions?.onProgress?.({ kind: 'tile', tile: step, of: options.steps });
          }
          return { raster };
        },
        async dispose() {},
      };
    },
  };
}

/** A task whose code fails with an uncoded error holding a server path, to check that it never reaches clients. */
const brokenTask: TaskDefinition<Raster, Record<string, never>, ImageTaskResult> = {
  id: 'broken',
  kind: 'image-to-image',
  description: 'test task: always fails',
  defaultModel: 'tiny-ddpm',
  accepts: () => true,
  options: [],
  parseOptions: () => ({}),
  async load({ model }) {
    return {
      model: model.manifest,
      async run() {
        throw new Error('cannot open /srv/secret/weights.bin');
      },
      async dispose() {},
    };
  },
};

/** Not an image task: listed nowhere by the HTTP API. */
const customTask: TaskDefinition = {
  id: 'custom-stats',
  kind: 'custom',
  description: 'test task: not image to image',
  defaultModel: 'tiny-ddpm',
  accepts: () => true,
  options: [],
  parseOptions: () => ({}),
  async load({ model }) {
    return { model: model.manifest, run: async () => 0, dispose: async () => {} };
  },
};

/** An image task that no installed model fits. */
const orphanTask: TaskDefinition = { ...customTask, id: 'orphan', kind: 'image-to-image', accepts: (m) => m.task === 'sr3' } as TaskDefinition;

export function testPlugin(gate: Gate, modelFolder: string): Plugin {
  return {
    name: 'http-test-plugin',
    version: '1.0.0',
    core: '^0.1.0',
    tasks: [tinyTask, gatedTask(gate), brokenTask, customTask, orphanTask],
    modelFolders: [modelFolder],
  };
}

/** A runtime whose inference runs in one worker thread, as a server's should. */
export async function testRuntime(gate = new Gate()): Promise<Runtime> {
  return createRuntime({ engine: { provider: 'cpu', workers: 1 }, plugins: [testPlugin(gate, await testModels())] });
}

export function testApp(runtime: Runtime, options: RouterOptions = {}, mount = ''): { app: Express; router: DiffusekitRouter } {
  const router = createRouter(runtime, options);
  const app = express();
  if (mount) app.use(mount, router);
  else app.use(router);
  return { app, router };
}

/** A small test image: a smooth gradient with `bands` bands of uint8. */
export function gradient(width: number, height: number, bands = 3): Raster {
  const data = new Uint8Array(width * height * bands);
  for (let b = 0; b < bands; b++)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[b * width * height + y * width + x] = (x * 7 + y * 5 + b * 60) % 256;
  return createRaster({ width, height, bands, dtype: 'uint8', data });
}

export async function imageBytes(format: ImageFormat, width = 16, height = 16, bands = 3): Promise<Buffer> {
  return encodeImage(gradient(width, height, bands), { format });
}

/** Collects a binary response body in supertest. */
export function binaryParser(res: Stream, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Parses a complete Server-Sent Events text into its events. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim());
      return event === undefined || data.length === 0 ? undefined : { event, data: JSON.parse(data.join('\n')) as unknown };
    })
    .filter((e): e is SseEvent => e !== undefined);
}

/** Opens an event stream on a real server and hands each event to `onEvent` until the stream ends. */
export function followEvents(url: string, onEvent: (event: SseEvent) => void, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = httpRequest(url, { headers }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          for (const event of parseSse(buffer.slice(0, end + 2))) {
            events.push(event);
            onEvent(event);
          }
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', () => resolve(events));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
