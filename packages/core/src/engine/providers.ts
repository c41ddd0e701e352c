import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export const PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export type ProviderChoice = ProviderName | 'auto';

/** A one-node ONNX graph (Relu on a float[1]) used to ask onnxruntime whether a provider really initialises. */
const PROBE_MODEL = Buffer.from(
  'CAgSCmRpZmZ1c2VraXQ6NwoMCgF4EgF5IgRSZWx1EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE=',
  'base64',
);

const VULKAN_LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];

/** The folder holding onnxruntime-node's binding for this platform (bin/napi-v<N>/<platform>/<arch>, any N). */
function onnxruntimeBinaryDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    return readdirSync(bin)
      .filter((name) => name.startsWith('napi-v'))
      .map((name) => path.join(bin, name, process.platform, process.arch))
      .find((dir) => existsSync(path.join(dir, 'onnxruntime_binding.node')));
  } catch {
    return undefined;
  }
}

/**
 * Cheap preconditions, checked before probing, because a failed probe makes onnxruntime print errors on stderr:
 * CUDA needs the provider library installed next to the binding (ONNXRUNTIME_NODE_INSTALL=cuda12 at install time);
 * WebGPU on Linux runs Dawn over Vulkan and needs the Vulkan loader.
 */
function mayBeAvailable(provider: ProviderName): boolean {
  if (provider === 'cpu') return true;
  if (provider === 'cuda') {
    const dir = onnxruntimeBinaryDir();
    return dir !== undefined && existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
  }
  if (process.platform !== 'linux') return true;
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...fromEnv, ...VULKAN_LOADER_DIRS].some((dir) => existsSync(path.join(dir, 'libvulkan.so.1')));
}

const probes = new Map<ProviderName, Promise<boolean>>();

async function probe(provider: ProviderName): Promise<boolean> {
  if (!mayBeAvailable(provider)) return false;
  try {
    const session = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [provider], logSeverityLevel: 4 });
    await session.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
    await session.release();
    return true;
  } catch {
    return false;
  }
}

/** Whether a provider initialises in this process (probed once, then cached). */
export function isProviderAvailable(provider: ProviderName): Promise<boolean> {
  let result = probes.get(provider);
  if (!result) {
    result = probe(provider);
    probes.set(provider, result);
  }
  return result;
}

export async function availableProviders(): Promise<ProviderName[]> {
  const flags = await Promise.all(PROVIDERS.map((p) => isProviderAvailable(p)));
  return PROVIDERS.filter((_, i) => flags[i]);
}

/** 'auto' prefers CUDA, then WebGPU, then CPU. */
export const AUTO_ORDER: readonly ProviderName[] = ['cuda', 'webgpu', 'cpu'];
