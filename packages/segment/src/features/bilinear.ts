/** A [channels, height, width] feature map whose pixels each cover `stride` × `stride` image pixels. */
export interface FeatureMap {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly stride: number;
}

/** Bilinear source position and weight along one axis, as PyTorch's interpolate computes it (align_corners=False). */
function sourceAxis(pixel: number, stride: number, size: number): { lo: number; hi: number; t: number } {
  const source = Math.max(0, (pixel + 0.5) / stride - 0.5);
  const lo = Math.min(Math.floor(source), size - 1);
  const hi = Math.min(lo + 1, size - 1);
  return { lo, hi, t: source - lo };
}

/**
 * Writes the feature vector that bilinear upsampling of `map` to image resolution would give at each pixel
 * (xs[i], ys[i]) (coordinates in the map's image frame) into row i of `out`, starting at column `column` of rows
 * `rowLength` long. Only these pixels are computed, so the full-resolution feature stack never exists.
 */
export function sampleBilinear(
  map: FeatureMap,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  out: Float32Array,
  rowLength: number,
  column: number,
): void {
  const { data, channels, height, width, stride } = map;
  const plane = height * width;
  for (let i = 0; i < xs.length; i++) {
    const ax = sourceAxis(xs[i]!, stride, width);
    const ay = sourceAxis(ys[i]!, stride, height);
    const w00 = (1 - ay.t) * (1 - ax.t);
    const w01 = (1 - ay.t) * ax.t;
    const w10 = ay.t * (1 - ax.t);
    const w11 = ay.t * ax.t;
    const i00 = ay.lo * width + ax.lo;
    const i01 = ay.lo * width + ax.hi;
    const i10 = ay.hi * width + ax.lo;
    const i11 = ay.hi * width + ax.hi;
    let o = i * rowLength + column;
    for (let c = 0, base = 0; c < channels; c++, base += plane) {
      out[o++] = w00 * data[base + i00]! + w01 * data[base + i01]! + w10 * data[base + i10]! + w11 * data[base + i11]!;
    }
  }
}
