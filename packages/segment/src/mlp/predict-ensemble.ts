import type { Engine, ModelSession, TensorData } from '@diffusekit/core';
import { buildPredictGraph } from './ensemble-graphs.js';
import { TENSOR_NAMES, tensorShapes, type EnsembleWeights } from './ensemble-weights.js';

/** Runs every member of a trained ensemble on feature rows, in one onnxruntime call per chunk. */
export class EnsembleClassifier {
  readonly #session: ModelSession;
  readonly #weights: Record<string, TensorData>;

  private constructor(session: ModelSession, readonly ensemble: EnsembleWeights) {
    this.#session = session;
    const shapes = tensorShapes(ensemble);
    this.#weights = Object.fromEntries(TENSOR_NAMES.map((name) => [name, { data: ensemble.tensors[name], dims: shapes[name] }]));
  }

  static async open(engine: Engine, ensemble: EnsembleWeights): Promise<EnsembleClassifier> {
    return new EnsembleClassifier(await engine.openGraph(buildPredictGraph()), ensemble);
  }

  /** Class probabilities [members, n, classes] for `n` feature rows ([n, dim], row-major). */
  async probabilities(features: Float32Array, n: number): Promise<Float32Array> {
    const { dim } = this.ensemble;
    const out = await this.#session.run({ ...this.#weights, x: { data: features.subarray(0, n * dim), dims: [n, dim] } });
    return out.probabilities!.data;
  }
}
