import { OnnxGraphBuilder, type Dim } from '../onnx/onnx-graph.js';

/**
 * The pixel classifier of Baranchuk et al.: Linear → ReLU → BatchNorm → Linear → ReLU → BatchNorm → Linear, for every
 * member of an ensemble at once. Every parameter carries the member as its leading axis ([M, ...]), so one graph call
 * trains or evaluates all members, each on its own batch.
 */
export const PARAMETER_NAMES = ['w1', 'b1', 'gamma1', 'beta1', 'w2', 'b2', 'gamma2', 'beta2', 'w3', 'b3'] as const;
export const RUNNING_STAT_NAMES = ['mean1', 'var1', 'mean2', 'var2'] as const;
export type ParameterName = (typeof PARAMETER_NAMES)[number];
export type RunningStatName = (typeof RUNNING_STAT_NAMES)[number];

export const BATCH_NORM_EPSILON = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;

/** Shapes of the parameters and running statistics for M members of a dim→h1→h2→classes network. */
export function parameterShapes(members: number, dim: number, hidden: readonly [number, number], classes: number): Record<ParameterName | RunningStatName, number[]> {
  const [h1, h2] = hidden;
  return {
    w1: [members, dim, h1], b1: [members, 1, h1], gamma1: [members, 1, h1], beta1: [members, 1, h1],
    w2: [members, h1, h2], b2: [members, 1, h2], gamma2: [members, 1, h2], beta2: [members, 1, h2],
    w3: [members, h2, classes], b3: [members, 1, classes],
    mean1: [members, 1, h1], var1: [members, 1, h1], mean2: [members, 1, h2], var2: [members, 1, h2],
  };
}

const SHAPES: Record<ParameterName | RunningStatName, Dim[]> = {
  w1: ['M', 'D', 'H1'], b1: ['M', 1, 'H1'], gamma1: ['M', 1, 'H1'], beta1: ['M', 1, 'H1'],
  w2: ['M', 'H1', 'H2'], b2: ['M', 1, 'H2'], gamma2: ['M', 1, 'H2'], beta2: ['M', 1, 'H2'],
  w3: ['M', 'H2', 'C'], b3: ['M', 1, 'C'],
  mean1: ['M', 1, 'H1'], var1: ['M', 1, 'H1'], mean2: ['M', 1, 'H2'], var2: ['M', 1, 'H2'],
};

/** Graph outputs of the gradient graph: `grad_<parameter>` and the batch statistics of each BatchNorm. */
export const gradientName = (name: ParameterName): string => `grad_${name}`;
export const BATCH_STAT_NAMES = ['batchMean1', 'batchVar1', 'batchMean2', 'batchVar2'] as const;

/**
 * The cross-entropy loss of every member on its own batch and its gradients, BatchNorms in training mode (batch
 * statistics). Inputs: x [M,B,D], target [M,B,C] (one-hot), invBatch [1] = 1/B, and the parameters. Outputs: loss
 * [M,1,1], grad_* for every parameter, and each BatchNorm's batch mean and biased variance ([M,1,H]). The optimiser
 * step runs outside the graph: fused into one pass over the weights, it costs a fraction of the dozen elementwise
 * operators it would take here.
 */
export function buildGradientGraph(): Uint8Array {
  const g = new OnnxGraphBuilder('ensemble_gradients');
  const x = g.input('x', ['M', 'B', 'D']);
  const target = g.input('target', ['M', 'B', 'C']);
  const invBatch = g.input('invBatch', [1]);
  const p = {} as Record<ParameterName, string>;
  for (const name of PARAMETER_NAMES) p[name] = g.input(name, SHAPES[name]);

  const batchAxis = g.constant([1], [1], 'int64');
  const sum = (v: string): string => g.op('ReduceSum', [v, batchAxis], { keepdims: 1 });
  const mean = (v: string): string => g.op('ReduceMean', [v], { axes: [1], keepdims: 1 });
  const transposed = (v: string): string => g.op('Transpose', [v], { perm: [0, 2, 1] });
  const mul = (a: string, b: string): string => g.op('Mul', [a, b]);
  const add = (a: string, b: string): string => g.op('Add', [a, b]);
  const sub = (a: string, b: string): string => g.op('Sub', [a, b]);

  // Forward, keeping what the backward pass needs.
  const layer = (input: string, w: string, b: string, gamma: string, beta: string) => {
    const z = add(g.op('MatMul', [input, w]), b);
    const a = g.op('Relu', [z]);
    const mu = mean(a);
    const centred = sub(a, mu);
    const variance = mean(mul(centred, centred));
    const invStd = g.op('Reciprocal', [g.op('Sqrt', [add(variance, g.scalar(BATCH_NORM_EPSILON))])]);
    const normalised = mul(centred, invStd);
    return { z, mu, variance, invStd, normalised, out: add(mul(normalised, gamma), beta) };
  };
  const l1 = layer(x, p.w1, p.b1, p.gamma1, p.beta1);
  const l2 = layer(l1.out, p.w2, p.b2, p.gamma2, p.beta2);
  const logits = add(g.op('MatMul', [l2.out, p.w3]), p.b3);
  const logProbs = g.op('LogSoftmax', [logits], { axis: 2 });
  const classAxis = g.constant([2], [1], 'int64');
  g.output(g.op('Neg', [mean(g.op('ReduceSum', [mul(target, logProbs), classAxis], { keepdims: 1 }))]), 'loss', ['M', 1, 1]);

  // Backward.
  const grads = {} as Record<ParameterName, string>;
  const dLogits = mul(sub(g.op('Exp', [logProbs]), target), invBatch);
  grads.w3 = g.op('MatMul', [transposed(l2.out), dLogits]);
  grads.b3 = sum(dLogits);
  const layerBackward = (dOut: string, l: ReturnType<typeof layer>, input: string, gamma: string, names: [ParameterName, ParameterName, ParameterName, ParameterName]) => {
    const [w, b, gm, bt] = names;
    grads[gm] = sum(mul(dOut, l.normalised));
    grads[bt] = sum(dOut);
    const dNormalised = mul(dOut, gamma);
    const dA = mul(l.invStd, sub(sub(dNormalised, mean(dNormalised)), mul(l.normalised, mean(mul(dNormalised, l.normalised)))));
    const active = g.op('Cast', [g.op('Greater', [l.z, g.scalar(0)])], { to: 1 });
    const dZ = mul(dA, active);
    grads[w] = g.op('MatMul', [transposed(input), dZ]);
    grads[b] = sum(dZ);
    return dZ;
  };
  const dZ2 = layerBackward(g.op('MatMul', [dLogits, transposed(p.w3)]), l2, l1.out, p.gamma2, ['w2', 'b2', 'gamma2', 'beta2']);
  layerBackward(g.op('MatMul', [dZ2, transposed(p.w2)]), l1, x, p.gamma1, ['w1', 'b1', 'gamma1', 'beta1']);

  for (const name of PARAMETER_NAMES) g.output(grads[name], gradientName(name), SHAPES[name]);
  g.output(l1.mu, 'batchMean1', SHAPES.mean1);
  g.output(l1.variance, 'batchVar1', SHAPES.var1);
  g.output(l2.mu, 'batchMean2', SHAPES.mean2);
  g.output(l2.variance, 'batchVar2', SHAPES.var2);
  return g.toBytes();
}

/**
 * Class probabilities of every member for shared inputs, BatchNorms in evaluation mode (running statistics).
 * Inputs: x [N,D], the parameters and running statistics. Output: probabilities [M,N,C].
 */
export function buildPredictGraph(): Uint8Array {
  const g = new OnnxGraphBuilder('ensemble_predict');
  const x = g.input('x', ['N', 'D']);
  const p = {} as Record<ParameterName, string>;
  for (const name of PARAMETER_NAMES) p[name] = g.input(name, SHAPES[name]);
  const stats = {} as Record<RunningStatName, string>;
  for (const name of RUNNING_STAT_NAMES) stats[name] = g.input(name, SHAPES[name]);
  const epsilon = g.scalar(BATCH_NORM_EPSILON);
  const layer = (input: string, w: string, b: string, gamma: string, beta: string, mu: string, variance: string): string => {
    const a = g.op('Relu', [g.op('Add', [g.op('MatMul', [input, w]), b])]);
    const scale = g.op('Div', [gamma, g.op('Sqrt', [g.op('Add', [variance, epsilon])])]);
    return g.op('Add', [g.op('Mul', [g.op('Sub', [a, mu]), scale]), beta]);
  };
  const h1 = layer(x, p.w1, p.b1, p.gamma1, p.beta1, stats.mean1, stats.var1);
  const h2 = layer(h1, p.w2, p.b2, p.gamma2, p.beta2, stats.mean2, stats.var2);
  const logits = g.op('Add', [g.op('MatMul', [h2, p.w3]), p.b3]);
  g.output(g.op('Softmax', [logits], { axis: 2 }), 'probabilities', ['M', 'N', 'C']);
  return g.toBytes();
}
