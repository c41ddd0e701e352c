import { DiffusekitError, invalidOption } from '../errors.js';

/**
 * What the network predicts from x_t = sqrt(ab) * x0 + sqrt(1 - ab) * eps:
 * - 'eps': the noise eps (Ho et al. 2020);
 * - 'x0':  the clean sample x0;
 * - 'v':   v = sqrt(ab) * eps - sqrt(1 - ab) * x0 (Salimans & Ho 2022, section 4).
 */
export type Prediction = 'eps' | 'x0' | 'v';

export const PREDICTIONS: readonly Prediction[] = ['eps', 'x0', 'v'];

/** Scalars (fromX, fromOut) such that target = fromX * x + fromOut * modelOut at noise level alphaBar. */
export interface LinearCoefficients {
  readonly fromX: number;
  readonly fromOut: number;
}

function checkAlphaBar(alphaBar: number): void {
  if (!(alphaBar > 0 && alphaBar < 1)) throw invalidOption('alphaBar', 'a number in (0, 1)', alphaBar);
}

/** x0 as a linear function of (x_t, model output). */
export function x0Coefficients(prediction: Prediction, alphaBar: number): LinearCoefficients {
  checkAlphaBar(alphaBar);
  const signal = Math.sqrt(alphaBar);
  const noise = Math.sqrt(1 - alphaBar);
  switch (prediction) {
    case 'eps':
      return { fromX: 1 / signal, fromOut: -noise / signal };
    case 'x0':
      return { fromX: 0, fromOut: 1 };
    case 'v':
      return { fromX: signal, fromOut: -noise };
    default:
      throw invalidOption('prediction', "one of 'eps', 'x0', 'v'", prediction);
  }
}

/** eps as a linear function of (x_t, model output). */
export function epsCoefficients(prediction: Prediction, alphaBar: number): LinearCoefficients {
  checkAlphaBar(alphaBar);
  const signal = Math.sqrt(alphaBar);
  const noise = Math.sqrt(1 - alphaBar);
  switch (prediction) {
    case 'eps':
      return { fromX: 0, fromOut: 1 };
    case 'x0':
      return { fromX: 1 / noise, fromOut: -signal / noise };
    case 'v':
      return { fromX: noise, fromOut: signal };
    default:
      throw invalidOption('prediction', "one of 'eps', 'x0', 'v'", prediction);
  }
}

/** v as a linear function of (x_t, model output). */
export function vCoefficients(prediction: Prediction, alphaBar: number): LinearCoefficients {
  const eps = epsCoefficients(prediction, alphaBar);
  const x0 = x0Coefficients(prediction, alphaBar);
  const signal = Math.sqrt(alphaBar);
  const noise = Math.sqrt(1 - alphaBar);
  return { fromX: signal * eps.fromX - noise * x0.fromX, fromOut: signal * eps.fromOut - noise * x0.fromOut };
}

/**
 * Re-expresses a network output in another parameterisation at noise level alphaBar, e.g. to read x0 off an eps
 * model. `out` may alias `modelOut` or `x`.
 */
export function convertPrediction(
  from: Prediction,
  to: Prediction,
  modelOut: Float32Array,
  x: Float32Array,
  alphaBar: number,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  if (modelOut.length !== x.length || out.length !== x.length) {
    throw new DiffusekitError(
      'INVALID_ARGUMENT',
      `Expected modelOut, x and out of equal length but received ${modelOut.length}, ${x.length} and ${out.length}`,
    );
  }
  const coefficients = to === 'x0' ? x0Coefficients : to === 'eps' ? epsCoefficients : to === 'v' ? vCoefficients : undefined;
  if (coefficients === undefined) throw invalidOption('to', "one of 'eps', 'x0', 'v'", to);
  const { fromX, fromOut } = coefficients(from, alphaBar);
  for (let i = 0; i < x.length; i++) out[i] = fromX * x[i]! + fromOut * modelOut[i]!;
  return out;
}
