import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CORE_VERSION, PROVIDERS, isDiffusekitError, type EngineOptions, type ProviderChoice, type Rect, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime } from '../default-runtime.js';
import type { GridOptions } from '../batch/grid-work.js';
import { locateMasks, maskedInput } from '../batch/mask-files.js';
import { imageTaskCommand, type ImageTaskCommandOptions } from './commands/image-task.js';
import { infoCommand } from './commands/info.js';
import { modelsCommand } from './commands/models.js';
import { segmentCommand } from './commands/segment-cli.js';
import { serveCommand } from './commands/serve.js';
import { workerCommand } from './commands/worker.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { parseAxis, parseCount, parsePositiveInteger } from './parse-flags.js';
import { UsageError } from './usage-error.js';
import { redact } from '../queue/connection.js';

const HELP = `diffusekit ${CORE_VERSION} — diffusion-model image analysis

Usage:
  diffusekit upscale <file|dir ...> -o <file|dir> [options]   super-resolution (default model sr3-x4)
  diffusekit restore <file|dir ...> -o <file|dir> [options]   JPEG artifact removal (default model palette-jpeg),
                                      or with --task inpaint --mask FILE|DIR: fill the mask's white part (palette-inpaint)
  diffusekit serve [--port 8080] [--host 127.0.0.1] [--config FILE] [--workers N] [--ensembles DIR]
                                            HTTP service and web page; --ensembles serves the segment task with
                                            the trained ensembles in DIR (DIR/<id>/ensemble.json)
  diffusekit worker --queue redis://HOST:6379 [--concurrency N] [--tasks sr3,palette-jpeg] [--store DIR]
                                            run queued jobs (from serve/upscale/restore --queue) on this machine
  diffusekit segment train --images DIR --masks DIR -o ENSEMBLE [options]   few-shot segmenter from DDPM features
  diffusekit segment select --images DIR --masks DIR --val-images DIR --val-masks DIR [-o readout.json]
                                                                            choose the backbone's read-out on validation images
  diffusekit segment predict ENSEMBLE <file|dir ...> -o DIR [--uncertainty]   label masks, overlays, uncertainty
  diffusekit segment eval ENSEMBLE --images DIR --masks DIR [--json]          per-class IoU and mIoU
  diffusekit models [--json]                 list installed models and the tasks that use them
  diffusekit info <file ...> [--json]        size, bands, dtype, nodata and georeference of images; slices,
                                            spacing, rescale, window and orientation of DICOM/NIfTI
  diffusekit help                            this text

Upscale and restore options:
  --model ID            model id (see "diffusekit models")
  --sampler NAME        ddim | dpmpp-2m | ddpm (default: the model's)
  --steps N             network evaluations per tile (default: the model's)
  --eta X               DDIM stochasticity in [0, 1] (default 0)
  --seed N              seed of the shared noise field (default 0): same seed, same output
  --tile N              tile side in output pixels (default: the model's)
  --overlap N           minimum tile overlap in output pixels (default: a quarter tile)
  --tiles-per-call N    tiles per engine call (default 4)
  --bands GROUPS        band groups, e.g. "0,1,2;3,4,5" (default: all bands, in groups of 3)
  --stretch KIND        dtype | minmax | percentile (default: dtype for 8-bit, percentile otherwise)
  --format FMT          output format png | jpeg | webp | tiff | geotiff | dicom | nifti (default: from -o, else the input's)
  --axis i|j|k          DICOM/NIfTI volumes: slice across this voxel axis (default k, the acquisition plane)
  --volume N|all        4-D NIfTI (fMRI, diffusion): run 3-D volume N, from 0, or all of them into a 4-D NIfTI
                        (one of the two is required for such files; "info" shows the count)
Restore options:
  --task NAME           jpeg | inpaint (default jpeg)
  --mask FILE|DIR       inpaint: mask image, white = fill (a folder: masks with the inputs' relative paths)
  --resample N          inpaint: RePaint tries per step for a more coherent fill (default 1)
Batch options:
  -o, --output PATH     output file (one input) or folder (mirrors input folders)
  --concurrency N       files processed at once (default 1)
  --resume              skip outputs that already exist (outputs are written atomically)
  --json                JSON lines on stdout instead of a progress bar
  --window X,Y,W,H      only this pixel rectangle of each input (a GeoTIFF reads just those pixels and keeps
                        its georeference: the way to work on part of a scene too large to read whole)
  --grid SIZE[,MARGIN]  work on a large image cell by cell (SIZE input pixels, MARGIN of context, default 16):
                        writes <name>/r<row>c<col>.<ext> and <name>.vrt, a GDAL mosaic of the cells; memory is
                        bounded by a cell; with --resume, finished cells are kept
  --max-pixels N        largest input (or window) in pixels (default 134217728 = 2^27)
Queue options (serve, upscale, restore, worker; see docs/http.md "Deployment"):
  --queue URL           redis://[user:password@]host:6379[/db] or rediss://... (TLS): run images on workers;
                        the password may come from DIFFUSEKIT_REDIS_PASSWORD instead, and is never printed
  --store DIR           result store shared by everyone on the queue (default $DIFFUSEKIT_QUEUE_STORE or
                        <tmp>/diffusekit-queue); upscale/restore --queue keep --concurrency jobs in flight (default 8)
  --tasks LIST          worker: the tasks it takes (default: every image task)
  --lock-ms N           worker: job lock; a job whose worker died runs again after this (default 30000)
Engine options:
  --provider NAME       auto | ${PROVIDERS.join(' | ')} (default auto)
  --threads N           inference threads (default: onnxruntime's choice)

Segment options:
  --palette FILE        JSON {"classes": [{"name", "color": "#rrggbb"}], "ignore"?} for colour masks and overlay colours
  --backbone ID         feature backbone (default ddpm-aerial); --members N (default 10); --max-pixels N (default 100000)
  --outputs LIST, --timesteps LIST   train: decoder outputs and timesteps to read (default: the backbone's own)
  --readout FILE        train: the read-out "segment select" chose (its -o file)
  --val-images DIR, --val-masks DIR, --val-slices LIST   select: the labelled validation images (or volume slices);
                        --timesteps LIST: the candidate timesteps (default 10,50,150,250,400); --members N (default 5);
                        --repeats N (ensembles averaged per candidate, default 3); --max-pixels N (default 50000)
  --epochs N            most training epochs (default 4; each member stops early when its loss stops improving)
  --seed N; --bands LIST (e.g. 0,1,2); --tile N (backbone tile, default 256); --uncertainty (predict: entropy map)
  Masks: class-index PNGs (255 = unlabelled) or colour PNGs with --palette, with the same names as the images.
  Volumes: NIfTI/DICOM images with NIfTI label volumes of the same name as masks; --axis i|j|k (default k) and
  --slices LIST (e.g. 60,90; default all) choose the labelled slices; predict writes <name>.labels.nii.gz
  (--volume N: volume N of a 4-D NIfTI; --volume all: every volume, into 4-D label and uncertainty NIfTI files).

Environment:
  DIFFUSEKIT_MODELS     extra folders holding <id>/model.json, searched before the bundled models
  DIFFUSEKIT_QUEUE_PREFIX  Redis key prefix of the queue (default diffusekit), to share one Redis

Exit codes: 0 success, 1 some input failed, 2 wrong usage.`;

type Values = Record<string, string | boolean | undefined>;

interface Command {
  options: NonNullable<ParseArgsConfig['options']>;
  usesEngine?: boolean;
  run(context: { runtime: () => Runtime; positionals: string[]; values: Values; io: CliIo; signal: AbortSignal }): Promise<number>;
}

const ENGINE_FLAGS = { provider: { type: 'string' }, threads: { type: 'string' } } as const;
const BATCH_FLAGS = {
  output: { type: 'string', short: 'o' },
  concurrency: { type: 'string' },
  resume: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  format: { type: 'string' },
  'max-pixels': { type: 'string' },
  window: { type: 'string' },
  grid: { type: 'string' },
} as const;
// >>> queue (issue 15)
const QUEUE_FLAGS = { queue: { type: 'string' }, store: { type: 'string' } } as const;

function queueFrom(values: Values): { url: string; store?: string; prefix?: string } | undefined {
  if (values.queue === undefined) {
    if (values.store !== undefined) throw new UsageError('--store goes with --queue');
    return undefined;
  }
  const prefix = process.env.DIFFUSEKIT_QUEUE_PREFIX;
  return { url: String(values.queue), ...(typeof values.store === 'string' ? { store: values.store } : {}), ...(prefix ? { prefix } : {}) };
}
// <<< queue

const UPSCALE_FLAGS = {
  model: { type: 'string' },
  sampler: { type: 'string' },
  steps: { type: 'string' },
  eta: { type: 'string' },
  seed: { type: 'string' },
  tile: { type: 'string' },
  overlap: { type: 'string' },
  'tiles-per-call': { type: 'string' },
  bands: { type: 'string' },
  stretch: { type: 'string' },
  axis: { type: 'string' },
  volume: { type: 'string' },
} as const;

/** CLI flag name -> task option name; values stay strings and the task validates them. */
const TASK_OPTION_FLAGS: Record<string, string> = {
  sampler: 'sampler',
  steps: 'steps',
  eta: 'eta',
  seed: 'seed',
  tile: 'tile',
  overlap: 'overlap',
  'tiles-per-call': 'tilesPerCall',
  bands: 'bands',
  stretch: 'stretch',
};

function taskOptionsFrom(values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(TASK_OPTION_FLAGS)) if (values[flag] !== undefined) out[option] = values[flag];
  return out;
}

function engineOptionsFrom(values: Values): EngineOptions {
  const provider = values.provider;
  if (provider !== undefined && provider !== 'auto' && !(PROVIDERS as readonly unknown[]).includes(provider))
    throw new UsageError(`Expected one of auto, ${PROVIDERS.join(', ')} for --provider but received ${JSON.stringify(provider)}`);
  return {
    ...(provider !== undefined ? { provider: provider as ProviderChoice } : {}),
    ...(values.threads !== undefined ? { threads: parsePositiveInteger('--threads', values.threads) } : {}),
  };
}

/** What an image command runs: its task ids, and for inpainting the mask to read and the extra task options. */
interface ImageCommandPlan {
  taskIds: readonly string[];
  extraOptions?: Record<string, unknown>;
  inputsFor?: ImageTaskCommandOptions['inputsFor'];
}

function imageCommand(plan: (values: Values) => ImageCommandPlan, extraFlags: Record<string, { type: 'string' }> = {}): Command {
  return {
    options: { ...UPSCALE_FLAGS, ...extraFlags, ...BATCH_FLAGS, ...ENGINE_FLAGS, ...QUEUE_FLAGS },
    usesEngine: true,
    run: ({ runtime, positionals, values, io, signal }) => {
      const { taskIds, extraOptions, inputsFor } = plan(values);
      const queue = queueFrom(values);
      return imageTaskCommand(
        runtime(),
        {
          taskIds: taskIds.filter((id) => runtime().tasks.some((t) => t.id === id)),
          ...(typeof values.model === 'string' ? { model: values.model } : {}),
          inputs: positionals,
          output: values.output as string | undefined,
          taskOptions: { ...taskOptionsFrom(values), ...extraOptions },
          ...(inputsFor ? { inputsFor } : {}),
          concurrency: values.concurrency === undefined ? (values.queue === undefined ? 1 : 8) : parsePositiveInteger('--concurrency', values.concurrency),
          ...(queue ? { queue } : {}),
          resume: values.resume === true,
          json: values.json === true,
          ...(typeof values.format === 'string' ? { format: values.format } : {}),
          ...(values['max-pixels'] !== undefined ? { maxPixels: parsePositiveInteger('--max-pixels', values['max-pixels']) } : {}),
          ...(values.window !== undefined ? { window: parseWindow(values.window) } : {}),
          ...(values.grid !== undefined ? { grid: parseGrid(values.grid, values) } : {}),
          ...(values.axis !== undefined ? { axis: parseAxis('--axis', values.axis) } : {}),
          ...(values.volume !== undefined ? { volumeIndex: values.volume === 'all' ? ('all' as const) : parseCount('--volume', values.volume, 0) } : {}),
        },
        io,
        signal,
      );
    },
  };
}

/** --grid SIZE[,MARGIN]: cells of SIZE input pixels, each read with MARGIN pixels of context (default 16). */
function parseGrid(value: unknown, values: Values): GridOptions {
  if (values.window !== undefined) throw new UsageError('--grid and --window exclude each other');
  if (values.mask !== undefined) throw new UsageError('--grid does not take inpainting masks; use --window to inpaint part of an image');
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [];
  const [size, margin = 16] = parts.map(Number);
  if (parts.length < 1 || parts.length > 2 || !Number.isSafeInteger(size) || size! < 16 || !Number.isSafeInteger(margin) || margin < 0 || margin >= size!) {
    throw new UsageError(`Expected SIZE or SIZE,MARGIN in input pixels (SIZE >= 16, 0 <= MARGIN < SIZE; e.g. 2048,32) for --grid but received ${JSON.stringify(value)}`);
  }
  return { size: size!, margin };
}

/** --window X,Y,W,H: a pixel rectangle of each input (origin top left). */
function parseWindow(value: unknown): Rect {
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [];
  const numbers = parts.map(Number);
  if (parts.length !== 4 || !numbers.every((n, i) => Number.isSafeInteger(n) && n >= (i < 2 ? 0 : 1))) {
    throw new UsageError(`Expected X,Y,WIDTH,HEIGHT in pixels (e.g. 1024,2048,512,512) for --window but received ${JSON.stringify(value)}`);
  }
  const [x, y, width, height] = numbers as [number, number, number, number];
  return { x, y, width, height };
}

const RESTORE_FLAGS = { task: { type: 'string' }, mask: { type: 'string' }, resample: { type: 'string' } } as const;

/** restore --task jpeg (default) or --task inpaint with its mask file or folder. */
function restorePlan(values: Values): ImageCommandPlan {
  const task = values.task ?? 'jpeg';
  if (task === 'jpeg') {
    for (const flag of ['mask', 'resample'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --task inpaint, not --task jpeg`);
    return { taskIds: ['palette-jpeg'] };
  }
  if (task !== 'inpaint') throw new UsageError(`Expected one of jpeg, inpaint for --task but received ${JSON.stringify(task)}`);
  const mask = values.mask;
  if (typeof mask !== 'string') throw new UsageError('--task inpaint needs --mask FILE (or a folder of masks named like the inputs)');
  const maxPixels = values['max-pixels'] === undefined ? undefined : parsePositiveInteger('--max-pixels', values['max-pixels']);
  return {
    taskIds: ['palette-inpaint'],
    ...(values.resample !== undefined ? { extraOptions: { resample: values.resample } } : {}),
    inputsFor: async (items) => maskedInput(await locateMasks(mask, items), mask, maxPixels, values.window !== undefined ? parseWindow(values.window) : undefined),
  };
}

const COMMANDS: Record<string, Command> = {
  upscale: imageCommand(() => ({ taskIds: ['sr3', 'srdiff'] })),
  restore: imageCommand(restorePlan, RESTORE_FLAGS),
  serve: {
    options: { port: { type: 'string' }, host: { type: 'string' }, config: { type: 'string' }, workers: { type: 'string' }, ensembles: { type: 'string' }, ...ENGINE_FLAGS, ...QUEUE_FLAGS },
    usesEngine: true,
    run: ({ runtime, positionals, values, io, signal }) => {
      if (positionals.length > 0) throw new UsageError(`"serve" takes no arguments but received ${positionals.join(' ')}`);
      const port = values.port === undefined ? undefined : Number(values.port);
      if (port !== undefined && (!/^\d+$/.test(String(values.port)) || port > 65535)) throw new UsageError(`Expected a port in [0, 65535] for --port but received ${JSON.stringify(values.port)}`);
      return serveCommand(
        runtime(),
        {
          ...(port !== undefined ? { port } : {}),
          ...(typeof values.host === 'string' ? { host: values.host } : {}),
          ...(typeof values.config === 'string' ? { config: values.config } : {}),
          ...(queueFrom(values) ? { queue: queueFrom(values)! } : {}),
        },
        io,
        signal,
      );
    },
  },
  worker: {
    options: { ...QUEUE_FLAGS, concurrency: { type: 'string' }, tasks: { type: 'string' }, 'lock-ms': { type: 'string' }, json: { type: 'boolean', default: false }, ...ENGINE_FLAGS },
    usesEngine: true,
    run: ({ runtime, positionals, values, io, signal }) => {
      if (positionals.length > 0) throw new UsageError(`"worker" takes no arguments but received ${positionals.join(' ')}`);
      const queue = queueFrom(values);
      if (!queue) throw new UsageError('needs --queue redis://host:6379 (the Redis the server or batch sends jobs to)');
      return workerCommand(
        runtime(),
        {
          queue: queue.url,
          ...(queue.store ? { store: queue.store } : {}),
          ...(queue.prefix ? { prefix: queue.prefix } : {}),
          concurrency: values.concurrency === undefined ? 1 : parsePositiveInteger('--concurrency', values.concurrency),
          ...(typeof values.tasks === 'string' ? { tasks: values.tasks.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
          ...(values['lock-ms'] !== undefined ? { lockDurationMs: parsePositiveInteger('--lock-ms', values['lock-ms']) } : {}),
          json: values.json === true,
        },
        io,
        signal,
      );
    },
  },
  segment: {
    options: {
      images: { type: 'string' },
      masks: { type: 'string' },
      palette: { type: 'string' },
      backbone: { type: 'string' },
      members: { type: 'string' },
      'max-pixels': { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      bands: { type: 'string' },
      tile: { type: 'string' },
      uncertainty: { type: 'boolean', default: false },
      axis: { type: 'string' },
      volume: { type: 'string' },
      slices: { type: 'string' },
      outputs: { type: 'string' },
      timesteps: { type: 'string' },
      readout: { type: 'string' },
      'val-images': { type: 'string' },
      'val-masks': { type: 'string' },
      'val-slices': { type: 'string' },
      repeats: { type: 'string' },
      output: { type: 'string', short: 'o' },
      concurrency: { type: 'string' },
      resume: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...ENGINE_FLAGS,
    },
    usesEngine: true,
    run: ({ runtime, positionals, values, io, signal }) => segmentCommand(runtime(), positionals, values, io, signal),
  },
  models: {
    options: { json: { type: 'boolean', default: false } },
    run: ({ runtime, positionals, values, io }) => {
      if (positionals.length > 0) throw new UsageError(`"models" takes no arguments but received ${positionals.join(' ')}`);
      return modelsCommand(runtime(), { json: values.json === true }, io);
    },
  },
  info: {
    options: { json: { type: 'boolean', default: false } },
    run: ({ positionals, values, io }) => {
      if (positionals.length === 0) throw new UsageError('"info" needs at least one file');
      return infoCommand(positionals, { json: values.json === true }, io);
    },
  },
};

/** `--ensembles DIR[:DIR...]` (path-list separator of the OS): folders of trained ensembles the service offers. */
function ensembleFoldersFrom(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const folders = value.split(path.delimiter).filter(Boolean);
  for (const folder of folders) {
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`--ensembles: ${folder} is not a folder`);
  }
  return folders;
}

/** Extra model folders, searched before the bundled ones: DIFFUSEKIT_MODELS=/a:/b (path-list separator of the OS). */
function modelFoldersFromEnv(): string[] {
  return (process.env.DIFFUSEKIT_MODELS ?? '').split(path.delimiter).filter(Boolean);
}

export interface RunCliOptions {
  /** Aborts the running command (the binary wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
}

/** Runs one CLI invocation and returns its exit code; never calls process.exit, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo = processIo, options: RunCliOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    writeLine(name === undefined ? io.stderr : io.stdout, HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    writeLine(io.stdout, CORE_VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    writeLine(io.stderr, `diffusekit: unknown command "${name}". Should be one of: ${Object.keys(COMMANDS).join(', ')}, help`);
    return 2;
  }
  let runtime: Runtime | undefined;
  try {
    const { values, positionals } = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    const engine = command.usesEngine ? engineOptionsFrom(values as Values) : {};
    // The service keeps its event loop free by running inference in worker threads.
    if (name === 'serve') engine.workers = values.workers === undefined ? 1 : parsePositiveInteger('--workers', values.workers);
    // A queue worker's event loop renews its job locks: inference runs in threads, one per concurrent job.
    if (name === 'worker') engine.workers = values.concurrency === undefined ? 1 : parsePositiveInteger('--concurrency', values.concurrency);
    const ensembleFolders = name === 'serve' ? ensembleFoldersFrom(values.ensembles) : undefined;
    if (ensembleFolders && values.queue !== undefined) throw new UsageError('--ensembles (the segment task) does not run on queue workers yet; serve it without --queue');
    return await command.run({
      runtime: () => (runtime ??= createDefaultRuntime({ engine, modelFolders: modelFoldersFromEnv(), ...(ensembleFolders ? { ensembleFolders } : {}) })),
      positionals,
      values: values as Values,
      io,
      signal: options.signal ?? new AbortController().signal,
    });
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(io.stderr, `diffusekit ${name}: ${(error as Error).message}`);
      writeLine(io.stderr, `Run "diffusekit help" for usage.`);
      return 2;
    }
    if (isDiffusekitError(error)) {
      writeLine(io.stderr, `diffusekit ${name}: ${error.code}: ${redact(error.message)}`);
      return 1;
    }
    throw error;
  } finally {
    await runtime?.close();
  }
}
