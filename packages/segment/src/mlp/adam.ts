export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/** Adam's state for one tensor whose leading axis is the ensemble member. */
export interface AdamSlot {
  readonly value: Float32Array;
  readonly firstMoment: Float32Array;
  readonly secondMoment: Float32Array;
}

export function adamSlot(value: Float32Array): AdamSlot {
  return { value, firstMoment: new Float32Array(value.length), secondMoment: new Float32Array(value.length) };
}

/**
 * One Adam step (Kingma & Ba 2015, as PyTorch computes it, no weight decay) in a single pass over the tensor.
 * `learningRates[m]` applies to member m's slice; 0 leaves that member unchanged, moments included.
 */
export function adamStep(slot: AdamSlot, gradient: Float32Array, step: number, learningRates: Float32Array): void {
  const { value, firstMoment, secondMoment } = slot;
  const members = learningRates.length;
  const perMember = value.length / members;
  const correction = Math.sqrt(1 - ADAM_BETA2 ** step);
  const stepScale = correction / (1 - ADAM_BETA1 ** step);
  const epsilon = ADAM_EPSILON * correction;
  for (let m = 0; m < members; m++) {
    const rate = learningRates[m]! * stepScale;
    if (rate === 0) continue;
    const end = (m + 1) * perMember;
    for (let i = m * perMember; i < end; i++) {
      const grad = gradient[i]!;
      const first = ADAM_BETA1 * firstMoment[i]! + (1 - ADAM_BETA1) * grad;
      const second = ADAM_BETA2 * secondMoment[i]! + (1 - ADAM_BETA2) * grad * grad;
      firstMoment[i] = first;
      secondMoment[i] = second;
      value[i] = value[i]! - (rate * first) / (Math.sqrt(second) + epsilon);
    }
  }
}
