import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { DiffusekitError, invalidOption } from '../errors.js';
import type { ResolvedModel } from '../models/catalog.js';
import { readVerifiedModelFile, verifyModelFiles } from '../models/verify.js';
import { createLocalSession, type ModelSession } from './local-session.js';
import { AUTO_ORDER, PROVIDERS, availableProviders, isProviderAvailable, type ProviderChoice, type ProviderName } from './providers.js';
import { WorkerPool } from './worker-pool.js';
import type { SessionSpec } from './worker-protocol.js';

export interface EngineOptions {
  /** Execution provider. An explicit provider that is not available is an error, never a silent fallback. */
  provider?: ProviderChoice;
  /** Intra-op threads per session (default: onnxruntime's choice; with workers: (cores - 1) / workers, at least 1). */
  threads?: number;
  /** Run inference in this many worker threads (servers), or 0 to run in the calling thread. */
  workers?: number;
}

export class Engine {
  readonly options: Readonly<EngineOptions>;
  readonly #sessions = new Map<string, Promise<ModelSession>>();
  #provider: Promise<ProviderName> | undefined;
  #pool: WorkerPool | undefined;

  constructor(options: EngineOptions = {}) {
    const provider = options.provider ?? 'auto';
    if (provider !== 'auto' && !PROVIDERS.includes(provider)) throw invalidOption('provider', `one of auto, ${PROVIDERS.join(', ')}`, provider);
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
      throw invalidOption('threads', 'a positive integer', options.threads);
    if (options.workers !== undefined && (!Number.isInteger(options.workers) || options.workers < 0))
      throw invalidOption('workers', 'a non-negative integer', options.workers);
    this.options = { ...options, provider };
  }

  /** The provider this engine runs on, resolved (and checked) on first use. */
  provider(): Promise<ProviderName> {
    this.#provider ??= resolveProvider(this.options.provider ?? 'auto');
    return this.#provider;
  }

  /**
   * Verifies the model's files, then returns a cached session for the file of `role`. A new session is built from
   * the very bytes whose sha256 was checked, never from the path, so a file swapped after the check is not loaded.
   */
  async openSession(model: ResolvedModel, role = 'model'): Promise<ModelSession> {
    const entry = model.manifest.files.find((f) => f.role === role);
    if (!entry) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${model.manifest.id}" has no file with role "${role}". Roles: ${model.manifest.files.map((f) => f.role).join(', ')}`);
    }
    await verifyModelFiles(model);
    const provider = await this.provider();
    const key = `${entry.sha256}:${provider}:${this.options.threads ?? 'default'}`;
    const cached = this.#sessions.get(key);
    if (cached) return cached;
    const bytes = await readVerifiedModelFile(model, role);
    const label = `model "${model.manifest.id}" (${model.files[role]!})`;
    return this.#cachedSession({ key, file: bytes, label, provider, ...this.#threads() });
  }

  /**
   * Returns a cached session for an ONNX graph built in memory (e.g. a training step assembled from operators),
   * keyed by the graph's sha256. It runs where model sessions run: in the calling thread or in the worker pool.
   */
  async openGraph(bytes: Uint8Array): Promise<ModelSession> {
    const provider = await this.provider();
    const key = `graph:${createHash('sha256').update(bytes).digest('hex')}:${provider}:${this.options.threads ?? 'default'}`;
    return this.#cachedSession({ key, file: bytes, provider, ...this.#threads() });
  }

  #cachedSession(spec: SessionSpec): Promise<ModelSession> {
    let session = this.#sessions.get(spec.key);
    if (!session) {
      session = this.options.workers ? this.#openRemote(spec) : createLocalSession(spec);
      this.#sessions.set(spec.key, session);
      session.catch(() => this.#sessions.delete(spec.key));
    }
    return session;
  }

  #threads(): { threads?: number } {
    if (this.options.threads !== undefined) return { threads: this.options.threads };
    // Workers exist to keep the host's event loop responsive, so one core is left to it: onnxruntime's pool threads
    // spin between runs, and with every core taken the event loop waited on the run queue for most of its time.
    if (this.options.workers) return { threads: Math.max(1, Math.floor((availableParallelism() - 1) / this.options.workers)) };
    return {};
  }

  async #openRemote(spec: SessionSpec): Promise<ModelSession> {
    this.#pool ??= new WorkerPool(this.options.workers!);
    const pool = this.#pool;
    const opened = await pool.request({ type: 'open', spec });
    if (opened.type !== 'opened') throw new DiffusekitError('WORKER_FAILED', 'Unexpected reply from the inference worker');
    return {
      key: spec.key,
      provider: spec.provider,
      inputNames: opened.inputNames,
      outputNames: opened.outputNames,
      async run(inputs, outputNames) {
        const reply = await pool.request({ type: 'run', key: spec.key, spec, inputs, ...(outputNames ? { outputNames } : {}) });
        if (reply.type !== 'result') throw new DiffusekitError('WORKER_FAILED', 'Unexpected reply from the inference worker');
        return reply.outputs;
      },
      async release() {
        await pool.request({ type: 'release', key: spec.key }, { broadcast: true });
      },
    };
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    if (this.#pool) {
      await this.#pool.close();
      this.#pool = undefined;
      return;
    }
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}

async function resolveProvider(choice: ProviderChoice): Promise<ProviderName> {
  if (choice === 'auto') {
    for (const p of AUTO_ORDER) if (await isProviderAvailable(p)) return p;
    return 'cpu';
  }
  if (await isProviderAvailable(choice)) return choice;
  const available = await availableProviders();
  const hint =
    choice === 'cuda'
      ? ' (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12)'
      : choice === 'webgpu'
        ? ' (needs a GPU with a Vulkan driver and the Vulkan loader libvulkan.so.1)'
        : '';
  throw new DiffusekitError('PROVIDER_UNAVAILABLE', `Execution provider "${choice}" is not available here${hint}. Available: ${available.join(', ')}`, {
    details: { requested: choice, available },
  });
}

export function createEngine(options: EngineOptions = {}): Engine {
  return new Engine(options);
}
