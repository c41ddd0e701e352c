import { DiffusekitError } from '../errors.js';
import type { TensorData } from './tensors.js';

/** Axis-0 size of each tensor input, when the graph fixes it to a number (an export without a dynamic batch axis). */
export type FixedBatchSizes = ReadonlyMap<string, number>;

export function fixedBatchSizes(inputs: readonly { name: string; isTensor: boolean; shape?: ReadonlyArray<number | string> }[]): FixedBatchSizes {
  const sizes = new Map<string, number>();
  for (const input of inputs) {
    const first = input.isTensor ? input.shape?.[0] : undefined;
    if (typeof first === 'number' && first > 0) sizes.set(input.name, first);
  }
  return sizes;
}

type Run = (inputs: Record<string, TensorData>) => Promise<Record<string, TensorData>>;

/**
 * Feeds a graph whose batch axis is fixed with any batch size: when the inputs carry n items along axis 0 and the
 * graph takes exactly `size`, the call is split into runs of `size` items (the last one topped up with copies of its
 * final item), and the outputs of the real items are joined along axis 0. Inputs whose axis 0 is not the batch
 * (n differs) are passed to every run unchanged. Calls that already match the graph go straight through.
 */
export async function runWithFixedBatch(
  fixed: FixedBatchSizes,
  inputs: Record<string, TensorData>,
  run: Run,
): Promise<Record<string, TensorData>> {
  const batch = mismatchedBatch(fixed, inputs);
  if (batch === undefined) return run(inputs);
  const { n, size } = batch;
  const batched = Object.keys(inputs).filter((name) => inputs[name]!.dims[0] === n);
  const parts: Record<string, TensorData>[] = [];
  for (let first = 0; first < n; first += size) {
    const chunk: Record<string, TensorData> = { ...inputs };
    for (const name of batched) chunk[name] = sliceItems(inputs[name]!, first, size);
    parts.push(await run(chunk));
  }
  return joinItems(parts, n, size);
}

/** The call's batch n and the graph's fixed size, when they differ; undefined when the call fits the graph. */
function mismatchedBatch(fixed: FixedBatchSizes, inputs: Record<string, TensorData>): { n: number; size: number } | undefined {
  let found: { n: number; size: number } | undefined;
  for (const [name, size] of fixed) {
    const n = inputs[name]?.dims[0];
    if (n === undefined || n === size) continue;
    if (found && (found.n !== n || found.size !== size)) {
      throw new DiffusekitError(
        'MODEL_INCOMPATIBLE',
        `The model's inputs fix different batch sizes (${found.size} and ${size}) or were fed different batches (${found.n} and ${n})`,
      );
    }
    found = { n, size };
  }
  return found;
}

/** Items [first, first + size) along axis 0; past the end, the last item is repeated. */
function sliceItems(tensor: TensorData, first: number, size: number): TensorData {
  const n = tensor.dims[0]!;
  const itemSize = tensor.data.length / n;
  const out = new Float32Array(itemSize * size);
  for (let i = 0; i < size; i++) {
    const source = Math.min(first + i, n - 1);
    out.set(tensor.data.subarray(source * itemSize, (source + 1) * itemSize), i * itemSize);
  }
  return { data: out, dims: [size, ...tensor.dims.slice(1)] };
}

function joinItems(parts: Record<string, TensorData>[], n: number, size: number): Record<string, TensorData> {
  const joined: Record<string, TensorData> = {};
  for (const name of Object.keys(parts[0]!)) {
    const dims = parts[0]![name]!.dims;
    if (dims[0] !== size) {
      throw new DiffusekitError('MODEL_INCOMPATIBLE', `Output "${name}" has ${String(dims[0])} items along axis 0 for a batch of ${size}; cannot split the batch`);
    }
    const itemSize = parts[0]![name]!.data.length / size;
    const data = new Float32Array(itemSize * n);
    parts.forEach((part, p) => {
      const count = Math.min(size, n - p * size);
      data.set(part[name]!.data.subarray(0, count * itemSize), p * size * itemSize);
    });
    joined[name] = { data, dims: [n, ...dims.slice(1)] };
  }
  return joined;
}
