/**
 * Plain resampling for what is not diffused: masks (nearest) and alpha (bilinear, pixel centres aligned), one band at a
 * time, at an integer scale factor.
 */
export function upscaleNearestMask(mask: Uint8Array, width: number, height: number, scale: number): Uint8Array {
  const outWidth = width * scale;
  const out = new Uint8Array(outWidth * height * scale);
  for (let y = 0; y < height * scale; y++) {
    const srcRow = Math.floor(y / scale) * width;
    const dstRow = y * outWidth;
    for (let x = 0; x < outWidth; x++) out[dstRow + x] = mask[srcRow + Math.floor(x / scale)]!;
  }
  return out;
}

export function upscaleBilinear(band: Float32Array, width: number, height: number, scale: number): Float32Array {
  const outWidth = width * scale;
  const outHeight = height * scale;
  const out = new Float32Array(outWidth * outHeight);
  const coord = (o: number, size: number): [number, number, number] => {
    const s = Math.min(Math.max((o + 0.5) / scale - 0.5, 0), size - 1);
    const i0 = Math.floor(s);
    const i1 = Math.min(i0 + 1, size - 1);
    return [i0, i1, s - i0];
  };
  const xs = Array.from({ length: outWidth }, (_, x) => coord(x, width));
  for (let y = 0; y < outHeight; y++) {
    const [y0, y1, fy] = coord(y, height);
    for (let x = 0; x < outWidth; x++) {
      const [x0, x1, fx] = xs[x]!;
      const top = band[y0 * width + x0]! * (1 - fx) + band[y0 * width + x1]! * fx;
      const bottom = band[y1 * width + x0]! * (1 - fx) + band[y1 * width + x1]! * fx;
      out[y * outWidth + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
