import { invalidOption } from '../errors.js';

/**
 * A seeded source of random numbers. Every value depends only on the seed, the chain of `derive` calls that led to
 * this generator and how many values were drawn before it, never on the platform or thread.
 */
export interface Rng {
  /** The seed passed to `createRng` at the root of this generator's family. */
  readonly seed: number;
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number;
  /** `n` standard normal samples in a new array. */
  normal(n: number): Float32Array;
  /** Fills `out` with standard normal samples and returns it. */
  fillNormal(out: Float32Array): Float32Array;
  /**
   * An independent generator for stream `streamId`. Its output depends only on this generator's own identity (its
   * seed and derive path) and `streamId`, not on how many values this generator has drawn, so a run can give step k
   * its own stream and stay reproducible however the work before it was split up.
   */
  derive(streamId: number): Rng;
}

// Bound once: inside a vm context (jest, the REPL) every lookup of a global such as `Math` goes through the
// context's interceptor, which made the sampling loop about 100x slower there.
const { imul, abs, exp, log, sqrt } = Math;

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_53 = 1 / 9007199254740992;
const INV_TWO_POW_32 = 1 / TWO_POW_32;
const INV_TWO_POW_24 = 1 / 16777216;

/**
 * Ziggurat tables for the standard normal with 128 layers (Marsaglia & Tsang 2000, "The Ziggurat Method for
 * Generating Random Variables", constants R and V for 128 layers; layout after Doornik 2005, "An Improved Ziggurat
 * Method"). ZIGGURAT_X[i] is the right edge of layer i (layer 0 is the base strip, widened to hold the tail's area),
 * ZIGGURAT_RATIO[i] = X[i + 1] / X[i] is the fraction of a layer that lies wholly under the density.
 */
const ZIGGURAT_R = 3.442619855899;
const ZIGGURAT_V = 9.91256303526217e-3;
const ZIGGURAT_X = new Float64Array(129);
const ZIGGURAT_RATIO = new Float64Array(128);
{
  let f = exp(-0.5 * ZIGGURAT_R * ZIGGURAT_R);
  ZIGGURAT_X[0] = ZIGGURAT_V / f;
  ZIGGURAT_X[1] = ZIGGURAT_R;
  for (let i = 2; i < 128; i++) {
    const x = sqrt(-2 * log(ZIGGURAT_V / ZIGGURAT_X[i - 1]! + f));
    ZIGGURAT_X[i] = x;
    f = exp(-0.5 * x * x);
  }
  ZIGGURAT_X[128] = 0;
  for (let i = 0; i < 128; i++) ZIGGURAT_RATIO[i] = ZIGGURAT_X[i + 1]! / ZIGGURAT_X[i]!;
}

/** Finaliser of MurmurHash3: a bijective 32-bit mix with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines a 64-bit key (two words) with a 32-bit value into a new 64-bit key. */
function mixKey(k0: number, k1: number, value: number): [number, number] {
  const a = fmix32((k0 ^ imul(value ^ 0x9e3779b9, 0x27d4eb2f)) >>> 0);
  const b = fmix32((k1 + a + imul(value, 0x165667b1) + 0x7f4a7c15) >>> 0);
  return [fmix32((a ^ (b >>> 7) ^ 0x632be5ab) >>> 0), b];
}

function validateSeed(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidOption(name, 'a non-negative safe integer', value);
  }
}

/**
 * xoshiro128** (Blackman & Vigna, 2018): 128 bits of state, period 2^128 - 1, no known statistical flaws, and only
 * 32-bit integer operations, which JavaScript performs exactly on every platform. Normals come from the ziggurat method
 * (one generator call per sample 98.8 % of the time); its tables and rare edge cases use `Math.exp`, `Math.log` and
 * `Math.sqrt`, which V8 computes with its own portable code (sqrt is correctly rounded by IEEE 754), so the same
 * seed gives the same bits everywhere Node runs.
 */
class Xoshiro128Rng implements Rng {
  readonly seed: number;
  private readonly k0: number;
  private readonly k1: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, k0: number, k1: number) {
    this.seed = seed;
    this.k0 = k0;
    this.k1 = k1;
    // Seed the state words from the key through a counter-based hash; an all-zero state is the one forbidden state.
    this.s0 = fmix32((k0 + 0x9e3779b9) >>> 0) | 0;
    this.s1 = fmix32((k1 ^ 0x85ebca6b) >>> 0) | 0;
    this.s2 = fmix32((k0 + k1 + 0x3c6ef372) >>> 0) | 0;
    this.s3 = fmix32((k0 ^ imul(k1, 0xc2b2ae35) ^ 0xa54ff53a) >>> 0) | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  uint32(): number {
    const s1 = this.s1;
    const result = imul(rotl(imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  uniform(): number {
    const high = this.uint32() >>> 5; // 27 bits
    const low = this.uint32() >>> 6; // 26 bits
    return (high * 67108864 + low) * INV_TWO_POW_53;
  }

  normal(n: number): Float32Array {
    if (!Number.isSafeInteger(n) || n < 0) throw invalidOption('n', 'a non-negative integer', n);
    return this.fillNormal(new Float32Array(n));
  }

  fillNormal(out: Float32Array): Float32Array {
    const length = out.length;
    // The generator is inlined with its state in locals: this loop is the cost of every noise field.
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let k = 0; k < length; k++) {
      const r = imul(rotl(imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      // Low 7 bits pick the layer, the upper 25 bits (signed) give u in [-1, 1): no bit is used twice.
      const layer = r & 127;
      const u = (r >> 7) * INV_TWO_POW_24;
      if (abs(u) < ZIGGURAT_RATIO[layer]!) {
        out[k] = u * ZIGGURAT_X[layer]!;
        continue;
      }
      this.s0 = s0;
      this.s1 = s1;
      this.s2 = s2;
      this.s3 = s3;
      out[k] = this.zigguratEdge(layer, u);
      s0 = this.s0;
      s1 = this.s1;
      s2 = this.s2;
      s3 = this.s3;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }

  /** The rare (about 1.2 %) draws that fall outside a layer's rectangle: the tail or a wedge. */
  private zigguratEdge(layer: number, u: number): number {
    for (;;) {
      if (layer === 0) {
        // Tail beyond R (Marsaglia 1964): x = -ln(U1) / R, accepted when -2 ln(U2) > x^2.
        let x: number;
        let y: number;
        do {
          x = -log(this.openUniform()) / ZIGGURAT_R;
          y = -log(this.openUniform());
        } while (y + y < x * x);
        return u < 0 ? -(ZIGGURAT_R + x) : ZIGGURAT_R + x;
      }
      const xi = ZIGGURAT_X[layer]!;
      const xNext = ZIGGURAT_X[layer + 1]!;
      const x = u * xi;
      const fOuter = exp(-0.5 * (xi * xi - x * x));
      const fInner = exp(-0.5 * (xNext * xNext - x * x));
      if (fInner + this.openUniform() * (fOuter - fInner) < 1) return x;
      const r = this.uint32() | 0;
      layer = r & 127;
      u = (r >> 7) * INV_TWO_POW_24;
      if (abs(u) < ZIGGURAT_RATIO[layer]!) return u * ZIGGURAT_X[layer]!;
    }
  }

  /** Uniform on (0, 1]: safe for a logarithm. */
  private openUniform(): number {
    return (this.uint32() + 1) * INV_TWO_POW_32;
  }

  derive(streamId: number): Rng {
    validateSeed('streamId', streamId);
    let [k0, k1] = mixKey(this.k0, this.k1, streamId >>> 0);
    [k0, k1] = mixKey(k0, k1, Math.floor(streamId / TWO_POW_32));
    return new Xoshiro128Rng(this.seed, k0, k1);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded generator; `seed` is any non-negative safe integer. */
export function createRng(seed: number): Rng {
  validateSeed('seed', seed);
  const [k0, k1] = mixKey(0x243f6a88, 0x85a308d3, seed >>> 0);
  const [r0, r1] = mixKey(k0, k1, Math.floor(seed / TWO_POW_32));
  return new Xoshiro128Rng(seed, r0, r1);
}
