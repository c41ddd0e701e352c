/**
 * Estimates the quality factor a JPEG was saved with from its quantisation tables. Encoders derived from the IJG
 * library (libjpeg, libjpeg-turbo, mozjpeg in its default mode, Pillow, sharp) scale the example tables of the JPEG
 * standard (ITU-T T.81, Annex K, tables K.1 and K.2) by a quality factor q in 1..100:
 *   s = q < 50 ? 5000 / q : 200 - 2 q;   entry = clamp(floor((base * s + 50) / 100), 1, 255)
 * We find the q whose scaled luminance table is closest to the file's. Files from other encoders still get the
 * closest q, marked as not exact.
 */

/** Table K.1 (luminance), natural (row-major) order. */
const BASE_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100,
  103, 99,
];

/** Zigzag position k -> natural index. DQT segments store entries in zigzag order. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42,
  49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

export interface JpegQualityEstimate {
  /** Closest IJG quality factor, 1..100. */
  quality: number;
  /** True when the file's luminance table equals the IJG table at that quality. */
  exact: boolean;
}

/** The luminance quantisation table (natural order) of a JPEG, or undefined when the data has none. */
export function readLuminanceTable(bytes: Uint8Array): number[] | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan started: no table for id 0 before it
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const end = at + 2 + length;
    if (marker === 0xdb) {
      let p = at + 4;
      while (p < end && p < bytes.length) {
        const precision = bytes[p]! >> 4;
        const id = bytes[p]! & 0x0f;
        p++;
        const entryBytes = precision === 0 ? 1 : 2;
        if (p + 64 * entryBytes > bytes.length) return undefined;
        if (id === 0) {
          const table = new Array<number>(64);
          for (let k = 0; k < 64; k++) table[ZIGZAG[k]!] = entryBytes === 1 ? bytes[p + k]! : (bytes[p + 2 * k]! << 8) | bytes[p + 2 * k + 1]!;
          return table;
        }
        p += 64 * entryBytes;
      }
    }
    at = end;
  }
  return undefined;
}

export function ijgLuminanceTable(quality: number): number[] {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  return BASE_LUMA.map((b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
}

/** Estimates the JPEG quality factor from the bytes of a JPEG file; undefined when no luminance table is found. */
export function estimateJpegQuality(bytes: Uint8Array): JpegQualityEstimate | undefined {
  const table = readLuminanceTable(bytes);
  if (!table) return undefined;
  let best = { quality: 50, error: Number.POSITIVE_INFINITY };
  for (let q = 1; q <= 100; q++) {
    const candidate = ijgLuminanceTable(q);
    let error = 0;
    for (let i = 0; i < 64; i++) error += Math.abs(Math.log(candidate[i]!) - Math.log(Math.max(1, table[i]!)));
    if (error < best.error) best = { quality: q, error };
  }
  return { quality: best.quality, exact: best.error === 0 };
}
