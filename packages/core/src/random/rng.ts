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
const INV_TWO_POW_23 = 1 / 8388608;

/**
 * Ziggurat tables for the standard normal with 256 layers (Marsaglia & Tsang 2000, "The Ziggurat Method for
 * Generating Random Variables", constants R and V for 256 layers; layout after Doornik 2005, "An Improved Ziggurat
 * Method"). ZIGGURAT_X[i] is the right edge of layer i (layer 0 is the base strip, widened to hold the tail's area),
 * ZIGGURAT_RATIO[i] = X[i + 1] / X[i] is the fraction of a layer that lies wholly under the density. With 256 layers
 * about 1.5 % of draws miss their layer's rectangle (2.8 % with 128).
 */
const ZIGGURAT_LAYERS = 256;
const ZIGGURAT_R = 3.6541528853610088;
const ZIGGURAT_V = 4.92867323399e-3;
const ZIGGURAT_X = new Float64Array(ZIGGURAT_LAYERS + 1);
const ZIGGURAT_RATIO = new Float64Array(ZIGGURAT_LAYERS);
/** Unnormalised density exp(-x^2 / 2) at each layer edge. */
const ZIGGURAT_DENSITY = new Float64Array(ZIGGURAT_LAYERS + 1);
{
  let f = exp(-0.5 * ZIGGURAT_R * ZIGGURAT_R);
  ZIGGURAT_X[0] = ZIGGURAT_V / f;
  ZIGGURAT_X[1] = ZIGGURAT_R;
  for (let i = 2; i < ZIGGURAT_LAYERS; i++) {
    const x = sqrt(-2 * log(ZIGGURAT_V / ZIGGURAT_X[i - 1]! + f));
    ZIGGURAT_X[i] = x;
    f = exp(-0.5 * x * x);
  }
  ZIGGURAT_X[ZIGGURAT_LAYERS] = 0;
  for (let i = 0; i < ZIGGURAT_LAYERS; i++) ZIGGURAT_RATIO[i] = ZIGGURAT_X[i + 1]! / ZIGGURAT_X[i]!;
  for (let i = 0; i <= ZIGGURAT_LAYERS; i++) ZIGGURAT_DENSITY[i] = exp(-0.5 * ZIGGURAT_X[i]! * ZIGGURAT_X[i]!);
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

/** One xoshiro128** generator (Blackman & Vigna, 2018) over four 32-bit state words. */
class Xoshiro128 {
  s0: number;
  s1: number;
  s2: number;
  s3: number;

  /** Seeds the state words from a 64-bit key through a counter-based hash; `salt` separates streams of one key. */
  constructor(k0: number, k1: number, salt: number) {
    this.s0 = fmix32((k0 + 0x9e3779b9 + salt) >>> 0) | 0;
    this.s1 = fmix32((k1 ^ 0x85ebca6b ^ imul(salt, 0x27d4eb2f)) >>> 0) | 0;
    this.s2 = fmix32((k0 + k1 + 0x3c6ef372) >>> 0) | 0;
    this.s3 = fmix32((k0 ^ imul(k1, 0xc2b2ae35) ^ 0xa54ff53a ^ salt) >>> 0) | 0;
    // The all-zero state is the one forbidden state.
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

  /** Uniform on (0, 1]: safe for a logarithm. */
  openUniform(): number {
    return (this.uint32() + 1) * INV_TWO_POW_32;
  }
}

/**
 * xoshiro128**: 128 bits of state, period 2^128 - 1, no known statistical flaws, and only 32-bit integer operations,
 * which JavaScript performs exactly on every platform. Normals come from the ziggurat method: one draw of the main
 * stream per sample, and for the 1.5 % that miss their layer's rectangle, further draws from a second stream of the
 * same key. Keeping those off the main stream lets the hot loop hold its state in registers instead of saving and
 * reloading it around every rare case. The tables and rare cases use `Math.exp`, `Math.log` and `Math.sqrt`, which
 * V8 computes with its own portable code (sqrt is correctly rounded by IEEE 754), so the same seed gives the same
 * bits everywhere Node runs.
 */
class Xoshiro128Rng implements Rng {
  readonly seed: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly main: Xoshiro128;
  private readonly edge: Xoshiro128;

  constructor(seed: number, k0: number, k1: number) {
    this.seed = seed;
    this.k0 = k0;
    this.k1 = k1;
    this.main = new Xoshiro128(k0, k1, 0);
    this.edge = new Xoshiro128(k0, k1, 0x5bd1e995);
  }

  uint32(): number {
    return this.main.uint32();
  }

  uniform(): number {
    const high = this.main.uint32() >>> 5; // 27 bits
    const low = this.main.uint32() >>> 6; // 26 bits
    return (high * 67108864 + low) * INV_TWO_POW_53;
  }

  normal(n: number): Float32Array {
    if (!Number.isSafeInteger(n) || n < 0) throw invalidOption('n', 'a non-negative integer', n);
    return this.fillNormal(new Float32Array(n));
  }

  fillNormal(out: Float32Array): Float32Array {
    const length = out.length;
    const main = this.main;
    const edge = this.edge;
    // The generator is inlined with its state in locals: this loop is the cost of every noise field.
    let s0 = main.s0;
    let s1 = main.s1;
    let s2 = main.s2;
    let s3 = main.s3;
    for (let k = 0; k < length; k++) {
      const r = imul(rotl(imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      // Low 8 bits pick the layer, the upper 24 bits (signed) give u in [-1, 1): no bit is used twice.
      const layer = r & 255;
      const u = (r >> 8) * INV_TWO_POW_23;
      out[k] = abs(u) < ZIGGURAT_RATIO[layer]! ? u * ZIGGURAT_X[layer]! : zigguratEdge(edge, layer, u);
    }
    main.s0 = s0;
    main.s1 = s1;
    main.s2 = s2;
    main.s3 = s3;
    return out;
  }

  derive(streamId: number): Rng {
    validateSeed('streamId', streamId);
    let [k0, k1] = mixKey(this.k0, this.k1, streamId >>> 0);
    [k0, k1] = mixKey(k0, k1, Math.floor(streamId / TWO_POW_32));
    return new Xoshiro128Rng(this.seed, k0, k1);
  }
}

/** A draw that missed layer `layer`'s rectangle at position u: sampled exactly from the tail or the wedge. */
function zigguratEdge(edge: Xoshiro128, layer: number, u: number): number {
  for (;;) {
    if (layer === 0) {
      // Tail beyond R (Marsaglia 1964): x = -ln(U1) / R, accepted when -2 ln(U2) > x^2.
      let x: number;
      let y: number;
      do {
        x = -log(edge.openUniform()) / ZIGGURAT_R;
        y = -log(edge.openUniform());
      } while (y + y < x * x);
      return u < 0 ? -(ZIGGURAT_R + x) : ZIGGURAT_R + x;
    }
    // Wedge: accept x when a uniform height between the layer's bottom and top density lies under the density at x.
    const x = u * ZIGGURAT_X[layer]!;
    const fBottom = ZIGGURAT_DENSITY[layer]!;
    if (fBottom + edge.openUniform() * (ZIGGURAT_DENSITY[layer + 1]! - fBottom) < exp(-0.5 * x * x)) return x;
    const r = edge.uint32() | 0;
    layer = r & 255;
    u = (r >> 8) * INV_TWO_POW_23;
    if (abs(u) < ZIGGURAT_RATIO[layer]!) return u * ZIGGURAT_X[layer]!;
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
