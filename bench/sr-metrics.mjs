// Fidelity metrics as super-resolution papers report them (Y channel of BT.601 in 16..235, border cropped), and the
// bicubic baseline with the kernel the SR models use in-graph (Keys a = -0.75, half-pixel centres, edge clamp: the
// same as PyTorch's bicubic and ONNX Resize cubic). Images are { width, height, data: Uint8Array planar RGB }.

export function lumaY(img) {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 16 + (65.481 * img.data[i] + 128.553 * img.data[n + i] + 24.966 * img.data[2 * n + i]) / 255;
  }
  return y;
}

function cropBorder(y, width, height, border) {
  const w = width - 2 * border;
  const h = height - 2 * border;
  const out = new Float64Array(w * h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out[r * w + c] = y[(r + border) * width + c + border];
  return { y: out, width: w, height: h };
}

export function psnrY(a, b, border = 4) {
  const ya = cropBorder(lumaY(a), a.width, a.height, border).y;
  const yb = cropBorder(lumaY(b), b.width, b.height, border).y;
  let se = 0;
  for (let i = 0; i < ya.length; i++) se += (ya[i] - yb[i]) ** 2;
  return 10 * Math.log10((255 * 255) / Math.max(se / ya.length, 1e-10));
}

/** SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, valid positions only. */
export function ssimY(a, b, border = 4) {
  const A = cropBorder(lumaY(a), a.width, a.height, border);
  const B = cropBorder(lumaY(b), b.width, b.height, border);
  const g = [];
  let sum = 0;
  for (let i = 0; i < 11; i++) {
    const v = Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2));
    g.push(v);
    sum += v;
  }
  for (let i = 0; i < 11; i++) g[i] /= sum;
  const { width: w, height: h } = A;
  const filter = (src) => {
    // Separable 'valid' convolution.
    const tmp = new Float64Array((w - 10) * h);
    for (let r = 0; r < h; r++) for (let c = 0; c < w - 10; c++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += g[k] * src[r * w + c + k];
      tmp[r * (w - 10) + c] = s;
    }
    const out = new Float64Array((w - 10) * (h - 10));
    for (let r = 0; r < h - 10; r++) for (let c = 0; c < w - 10; c++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += g[k] * tmp[(r + k) * (w - 10) + c];
      out[r * (w - 10) + c] = s;
    }
    return out;
  };
  const prod = (x, y) => x.map((v, i) => v * y[i]);
  const mx = filter(A.y);
  const my = filter(B.y);
  const sxx = filter(prod(A.y, A.y));
  const syy = filter(prod(B.y, B.y));
  const sxy = filter(prod(A.y, B.y));
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const vx = sxx[i] - mx[i] ** 2;
    const vy = syy[i] - my[i] ** 2;
    const cxy = sxy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) / ((mx[i] ** 2 + my[i] ** 2 + c1) * (vx + vy + c2));
  }
  return total / mx.length;
}

function keys(d, a = -0.75) {
  d = Math.abs(d);
  if (d <= 1) return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1;
  if (d < 2) return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a;
  return 0;
}

/** Bicubic upscaling by an integer factor, rounded to 8 bits. */
export function bicubicUpscale(img, scale) {
  const { width, height } = img;
  const W = width * scale;
  const H = height * scale;
  const taps = (outSize, inSize) =>
    Array.from({ length: outSize }, (_, o) => {
      const s = (o + 0.5) / scale - 0.5;
      const f = Math.floor(s);
      const t = s - f;
      return [-1, 0, 1, 2].map((k) => [Math.min(Math.max(f + k, 0), inSize - 1), keys(k - t)]);
    });
  const tx = taps(W, width);
  const ty = taps(H, height);
  const out = new Uint8Array(W * H * 3);
  for (let c = 0; c < 3; c++) {
    const plane = img.data.subarray(c * width * height, (c + 1) * width * height);
    const rows = new Float64Array(height * W);
    for (let y = 0; y < height; y++) for (let x = 0; x < W; x++) {
      let s = 0;
      for (const [i, w] of tx[x]) s += w * plane[y * width + i];
      rows[y * W + x] = s;
    }
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let s = 0;
      for (const [i, w] of ty[y]) s += w * rows[i * W + x];
      out[c * W * H + y * W + x] = Math.min(255, Math.max(0, Math.round(s)));
    }
  }
  return { width: W, height: H, data: out };
}
