import type { Rng } from '@diffusekit/core';
import { PARAMETER_NAMES, RUNNING_STAT_NAMES, parameterShapes, type ParameterName, type RunningStatName } from './ensemble-graphs.js';

export type TensorName = ParameterName | RunningStatName;

/** The weights of an ensemble of pixel classifiers, every tensor with the member as its leading axis. */
export interface EnsembleWeights {
  readonly members: number;
  readonly dim: number;
  readonly hidden: readonly [number, number];
  readonly classes: number;
  readonly tensors: Readonly<Record<TensorName, Float32Array>>;
}

export const TENSOR_NAMES: readonly TensorName[] = [...PARAMETER_NAMES, ...RUNNING_STAT_NAMES];

/** Hidden sizes of the reference classifier: dim→128→32→C, or dim→256→128→C for 30 classes or more. */
export function defaultHidden(classes: number): [number, number] {
  return classes >= 30 ? [256, 128] : [128, 32];
}

/**
 * Fresh weights as the reference initialises them: linear weights ~ N(0, 0.02), biases 0, BatchNorm scales
 * ~ N(1, 0.02) and shifts 0; running mean 0 and variance 1. Member m draws from its own stream of `rng`.
 */
export function initialWeights(members: number, dim: number, hidden: readonly [number, number], classes: number, rng: Rng): EnsembleWeights {
  const shapes = parameterShapes(members, dim, hidden, classes);
  const tensors = {} as Record<TensorName, Float32Array>;
  for (const name of TENSOR_NAMES) {
    const t = new Float32Array(shapes[name].reduce((a, b) => a * b, 1));
    if (name.startsWith('var')) t.fill(1);
    tensors[name] = t;
  }
  for (let m = 0; m < members; m++) {
    const stream = rng.derive(m);
    for (const name of ['w1', 'w2', 'w3', 'gamma1', 'gamma2'] as const) {
      const t = tensors[name];
      const perMember = t.length / members;
      const draws = stream.normal(perMember);
      const centre = name.startsWith('gamma') ? 1 : 0;
      for (let i = 0; i < perMember; i++) t[m * perMember + i] = centre + 0.02 * draws[i]!;
    }
  }
  return { members, dim, hidden: [hidden[0], hidden[1]], classes, tensors };
}

export function tensorShapes(w: EnsembleWeights): Record<TensorName, number[]> {
  return parameterShapes(w.members, w.dim, w.hidden, w.classes);
}
