import type { Engine, ModelSession, TensorData } from '@diffusekit/core';
import { OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { BATCH_NORM_EPSILON } from './ensemble-graphs.js';
import type { EnsembleWeights } from './ensemble-weights.js';

/** Per feature output: its channels per timestep and stride; the feature vector is timestep-major, then output. */
export interface HeadOutputSpec {
  channels: number;
  stride: number;
}

/** Bytes of first-layer activations held at once per member chunk: bounds the head's memory on big tiles. */
const CHUNK_BYTES = 96 * 2 ** 20;

/**
 * The ensemble evaluated densely over a whole tile, exactly as sampling features at every pixel and running the
 * classifier would, but with the first layer moved before the upsampling. Both are linear, so
 * W1 · upsample(F) = upsample(W1 · F): the 600→128 product runs at the decoder maps' resolution (1/4 to 1/64 of the
 * pixels) and onnxruntime's Resize upsamples the 128 results per member. That removes most of the prediction cost.
 */
export class DenseEnsembleHead {
  readonly #sessions = new Map<string, Promise<ModelSession>>();
  readonly #chunkings = new Map<number, { members: number; inputs: Record<string, TensorData> }[]>();

  constructor(
    private readonly engine: Engine,
    readonly ensemble: EnsembleWeights,
    readonly outputs: readonly HeadOutputSpec[],
    readonly timesteps: number,
  ) {
    const perTimestep = outputs.reduce((s, o) => s + o.channels, 0);
    if (perTimestep * timesteps !== ensemble.dim) throw new RangeError(`Feature outputs give ${perTimestep * timesteps} features; the ensemble takes ${ensemble.dim}`);
  }

  /** Weights rearranged for a chunk of members: first-layer blocks per output as 1×1 convolutions, the rest transposed. */
  #chunk(first: number, count: number): Record<string, TensorData> {
    const { dim, hidden, classes, tensors } = this.ensemble;
    const [h1, h2] = hidden;
    const inputs: Record<string, TensorData> = {};
    const perTimestep = this.outputs.reduce((s, o) => s + o.channels, 0);
    let offset = 0;
    this.outputs.forEach((o, j) => {
      const cin = this.timesteps * o.channels;
      const w = new Float32Array(count * h1 * cin);
      for (let m = 0; m < count; m++) {
        for (let k = 0; k < this.timesteps; k++) {
          for (let c = 0; c < o.channels; c++) {
            const row = k * perTimestep + offset + c; // row of W1 [dim, h1] for this feature
            const src = ((first + m) * dim + row) * h1;
            for (let h = 0; h < h1; h++) w[((m * h1 + h) * cin + k * o.channels + c)] = tensors.w1[src + h]!;
          }
        }
      }
      inputs[`w_${j}`] = { data: w, dims: [count * h1, cin, 1, 1] };
      offset += o.channels;
    });
    const slice = (t: Float32Array, per: number): Float32Array => t.slice(first * per, (first + count) * per);
    const transpose = (t: Float32Array, rows: number, cols: number): Float32Array => {
      const out = new Float32Array(count * rows * cols);
      for (let m = 0; m < count; m++) for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[(m * cols + c) * rows + r] = t[((first + m) * rows + r) * cols + c]!;
      return out;
    };
    inputs.b1 = { data: slice(tensors.b1, h1), dims: [1, count * h1, 1, 1] };
    for (const [name, size] of [['gamma1', h1], ['beta1', h1], ['mean1', h1], ['var1', h1], ['b2', h2], ['gamma2', h2], ['beta2', h2], ['mean2', h2], ['var2', h2], ['b3', classes]] as const) {
      inputs[name] = { data: slice(tensors[name], size), dims: [count, size, 1] };
    }
    inputs.w2t = { data: transpose(tensors.w2, h1, h2), dims: [count, h2, h1] };
    inputs.w3t = { data: transpose(tensors.w3, h2, classes), dims: [count, classes, h2] };
    return inputs;
  }

  #graph(members: number, height: number, width: number): Uint8Array {
    const [h1] = this.ensemble.hidden;
    const g = new OnnxGraphBuilder('ensemble_dense_head');
    let sum: string | undefined;
    this.outputs.forEach((o, j) => {
      const f = g.input(`f_${j}`, [1, this.timesteps * o.channels, height / o.stride, width / o.stride]);
      const w = g.input(`w_${j}`, [members * h1, this.timesteps * o.channels, 1, 1]);
      const projected = g.op('Conv', [f, w]);
      const up = o.stride === 1 ? projected : g.op('Resize', [projected, '', g.constant([1, 1, o.stride, o.stride])], {
        mode: { text: 'linear' },
        coordinate_transformation_mode: { text: 'half_pixel' },
      });
      sum = sum === undefined ? up : g.op('Add', [sum, up]);
    });
    const z1 = g.op('Reshape', [g.op('Add', [sum!, g.input('b1', [1, members * h1, 1, 1])]), g.constant([members, h1, height * width], [3], 'int64')]);
    const epsilon = g.scalar(BATCH_NORM_EPSILON);
    const norm = (a: string, i: 1 | 2, size: number): string => {
      const [gamma, beta, mean, variance] = ['gamma', 'beta', 'mean', 'var'].map((n) => g.input(`${n}${i}`, [members, size, 1]));
      const scale = g.op('Div', [gamma!, g.op('Sqrt', [g.op('Add', [variance!, epsilon])])]);
      return g.op('Add', [g.op('Mul', [g.op('Sub', [a, mean!]), scale]), beta!]);
    };
    const [, h2] = this.ensemble.hidden;
    const a1 = norm(g.op('Relu', [z1]), 1, h1);
    const z2 = g.op('Add', [g.op('MatMul', [g.input('w2t', [members, h2, h1]), a1]), g.input('b2', [members, h2, 1])]);
    const a2 = norm(g.op('Relu', [z2]), 2, h2);
    const logits = g.op('Add', [g.op('MatMul', [g.input('w3t', [members, this.ensemble.classes, h2]), a2]), g.input('b3', [members, this.ensemble.classes, 1])]);
    g.output(g.op('Transpose', [g.op('Softmax', [logits], { axis: 1 })], { perm: [0, 2, 1] }), 'probabilities', [members, height * width, this.ensemble.classes]);
    return g.toBytes();
  }

  /**
   * Member probabilities [members, height·width, classes] over a tile whose decoder maps are `maps` (per output,
   * [timesteps, channels, h, w] as the backbone returns them).
   */
  async probabilities(maps: readonly Float32Array[], height: number, width: number): Promise<Float32Array> {
    const { members, hidden, classes } = this.ensemble;
    const perChunk = Math.max(1, Math.min(members, Math.floor(CHUNK_BYTES / (hidden[0] * height * width * 4))));
    let chunks = this.#chunkings.get(perChunk);
    if (!chunks) {
      chunks = [];
      for (let first = 0; first < members; first += perChunk) {
        const count = Math.min(perChunk, members - first);
        chunks.push({ members: count, inputs: this.#chunk(first, count) });
      }
      this.#chunkings.set(perChunk, chunks);
    }
    const out = new Float32Array(members * height * width * classes);
    let offset = 0;
    for (const chunk of chunks) {
      const key = `${chunk.members}:${height}x${width}`;
      let session = this.#sessions.get(key);
      if (!session) {
        session = this.engine.openGraph(this.#graph(chunk.members, height, width));
        this.#sessions.set(key, session);
      }
      const feeds: Record<string, TensorData> = { ...chunk.inputs };
      this.outputs.forEach((o, j) => {
        feeds[`f_${j}`] = { data: maps[j]!, dims: [1, this.timesteps * o.channels, height / o.stride, width / o.stride] };
      });
      const result = (await (await session).run(feeds)).probabilities!.data;
      out.set(result, offset);
      offset += result.length;
    }
    return out;
  }
}
