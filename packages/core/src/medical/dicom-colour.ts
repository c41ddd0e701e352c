import { DiffusekitError } from '../errors.js';

/**
 * How a DICOM image stores its samples. Grey images have one sample per pixel; colour images three, in one of the
 * photometric interpretations of PS3.3 C.7.6.3.1.2 that this reader turns into RGB.
 */
export type SampleModel =
  | { bands: 1 }
  | {
      bands: 3;
      /** As the header states it. */
      photometric: ColourPhotometric;
      /** PlanarConfiguration of native pixel data: 0 = R1 G1 B1 R2 ..., 1 = all R, then all G, then all B (per frame). */
      planar: 0 | 1;
    }
  | {
      bands: 3;
      photometric: 'PALETTE COLOR';
      /** Each pixel is one index of `indexBytes` (1 or 2) into the palette. */
      indexBytes: 1 | 2;
      palette: Palette;
    };
export type ColourModel = Exclude<SampleModel, { bands: 1 }>;

/** A PALETTE COLOR lookup table reduced to 8 bits per entry: index `first` maps to entry 0, indices past the end to the last. */
export interface Palette {
  first: number;
  red: Uint8Array;
  green: Uint8Array;
  blue: Uint8Array;
}

export const COLOUR_PHOTOMETRICS = ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'] as const;
export type ColourPhotometric = (typeof COLOUR_PHOTOMETRICS)[number];

/**
 * The sample model of a data set, or UNSUPPORTED_FORMAT naming what it holds: MONOCHROME1/2 with one sample, or three
 * samples of RGB or YBR (8 bits; checked by the caller with the bit depth).
 */
export function sampleModelOf(samples: number, photometric: string, planarConfiguration: number | undefined, palette?: () => Palette, bitsAllocated?: number): SampleModel {
  if (samples === 1 && photometric.startsWith('MONOCHROME')) return { bands: 1 };
  if (samples === 1 && photometric === 'PALETTE COLOR' && palette && (bitsAllocated === 8 || bitsAllocated === 16)) {
    return { bands: 3, photometric, indexBytes: bitsAllocated === 8 ? 1 : 2, palette: palette() };
  }
  if (samples === 3 && (COLOUR_PHOTOMETRICS as readonly string[]).includes(photometric)) {
    return { bands: 3, photometric: photometric as ColourPhotometric, planar: planarConfiguration === 1 ? 1 : 0 };
  }
  throw new DiffusekitError(
    'UNSUPPORTED_FORMAT',
    `DICOM ${photometric} with ${samples} sample(s) per pixel is not read; accepted: MONOCHROME1/MONOCHROME2 or PALETTE COLOR (8 or 16 bits) with 1 sample per pixel, or ${COLOUR_PHOTOMETRICS.join('/')} with 3`,
    { details: { photometric, samplesPerPixel: samples } },
  );
}

/** Bytes of one native frame: YBR_FULL_422 stores two luma samples and one Cb, Cr pair per two pixels. */
export function nativeFrameBytes(model: SampleModel, width: number, height: number, bytesPerSample: number): number {
  if (model.bands === 1) return width * height * bytesPerSample;
  if (model.photometric === 'PALETTE COLOR') return width * height * model.indexBytes;
  return model.photometric === 'YBR_FULL_422' ? 4 * Math.ceil(width / 2) * height : 3 * width * height;
}

const clamp8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Full-range YCbCr (JPEG/JFIF; PS3.3 C.7.6.3.1.2 YBR_FULL) to RGB, in place over three planes. */
function ybrPlanesToRgb(out: Uint8Array, plane: number, base: number): void {
  for (let p = 0; p < plane; p++) {
    const y = out[base + p]!;
    const cb = out[base + plane + p]! - 128;
    const cr = out[base + 2 * plane + p]! - 128;
    out[base + p] = clamp8(y + 1.402 * cr);
    out[base + plane + p] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    out[base + 2 * plane + p] = clamp8(y + 1.772 * cb);
  }
}

/**
 * One native colour frame as three planes of RGB (R plane, G plane, B plane), from pixel- or plane-interleaved RGB or
 * YBR_FULL, or from YBR_FULL_422 (each Cb, Cr pair shared by two horizontal neighbours).
 */
export function nativeColourFrame(model: ColourModel, src: Uint8Array, width: number, height: number, out: Uint8Array, base: number): void {
  const plane = width * height;
  if (model.photometric === 'PALETTE COLOR') {
    applyPalette(model, src, plane, out, base);
    return;
  }
  if (model.photometric === 'YBR_FULL_422') {
    const rowBytes = 4 * Math.ceil(width / 2);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x += 2) {
        const at = y * rowBytes + x * 2;
        const p = y * width + x;
        out[base + p] = src[at]!;
        if (x + 1 < width) out[base + p + 1] = src[at + 1]!;
        for (let c = 1; c <= 2; c++) {
          out[base + c * plane + p] = src[at + 1 + c]!;
          if (x + 1 < width) out[base + c * plane + p + 1] = src[at + 1 + c]!;
        }
      }
    }
  } else if (model.planar === 1) {
    out.set(src.subarray(0, 3 * plane), base);
  } else {
    deinterleave(src, plane, out, base);
  }
  if (model.photometric !== 'RGB') ybrPlanesToRgb(out, plane, base);
}

/** R1 G1 B1 R2 ... into three planes. */
export function deinterleave(src: Uint8Array, plane: number, out: Uint8Array, base: number): void {
  for (let p = 0; p < plane; p++) {
    out[base + p] = src[3 * p]!;
    out[base + plane + p] = src[3 * p + 1]!;
    out[base + 2 * plane + p] = src[3 * p + 2]!;
  }
}

/**
 * A decoded colour frame as RGB planes: from component planes (RLE, JPEG-LS without interleaving) or pixel-interleaved
 * samples, and YBR_FULL converted unless the codec returned RGB already (the JPEG and JPEG 2000 codecs undo their
 * colour transforms; RLE and JPEG-LS store the components as they are).
 */
export function compressedColourFrame(
  model: ColourModel,
  decoded: { samples: Uint8Array; layout: 'interleaved' | 'planar'; rgb: boolean },
  plane: number,
  out: Uint8Array,
  base: number,
): void {
  if (model.photometric === 'PALETTE COLOR') {
    applyPalette(model, decoded.samples, plane, out, base);
    return;
  }
  if (decoded.layout === 'planar') out.set(decoded.samples.subarray(0, 3 * plane), base);
  else deinterleave(decoded.samples, plane, out, base);
  if (!decoded.rgb && model.photometric === 'YBR_FULL') ybrPlanesToRgb(out, plane, base);
}

/** Three planes of a frame back to R1 G1 B1 R2 ... (what DICOM RGB with PlanarConfiguration 0 stores). */
export function interleave(planes: ArrayLike<number>, plane: number, base: number, out: Uint8Array, at: number): void {
  for (let p = 0; p < plane; p++) {
    out[at + 3 * p] = planes[base + p]!;
    out[at + 3 * p + 1] = planes[base + plane + p]!;
    out[at + 3 * p + 2] = planes[base + 2 * plane + p]!;
  }
}

/** Little-endian palette indices (1 or 2 bytes each) to three RGB planes. */
function applyPalette(model: Extract<SampleModel, { photometric: 'PALETTE COLOR' }>, indices: Uint8Array, plane: number, out: Uint8Array, base: number): void {
  const { first, red, green, blue } = model.palette;
  const last = red.length - 1;
  for (let p = 0; p < plane; p++) {
    const index = model.indexBytes === 1 ? indices[p]! : indices[2 * p]! | (indices[2 * p + 1]! << 8);
    const entry = index <= first ? 0 : Math.min(last, index - first);
    out[base + p] = red[entry]!;
    out[base + plane + p] = green[entry]!;
    out[base + 2 * plane + p] = blue[entry]!;
  }
}

/**
 * The palette of a PALETTE COLOR image from its three lookup table descriptors ([entries (0 = 65536), first mapped
 * index, bits per entry]) and data (little-endian 16-bit words; 8-bit entries packed or one per word), each entry
 * reduced to its 8 most significant bits. Segmented palettes and tables that disagree give UNSUPPORTED_FORMAT or DECODE_FAILED.
 */
export function readPalette(descriptor: (colour: string) => number[] | undefined, data: (colour: string) => ArrayBuffer | undefined, segmented: boolean): Palette {
  if (segmented) throw new DiffusekitError('UNSUPPORTED_FORMAT', 'DICOM PALETTE COLOR with a segmented palette is not read; accepted: palettes stored as lookup table data', { details: { photometric: 'PALETTE COLOR' } });
  const tables = (['Red', 'Green', 'Blue'] as const).map((colour) => {
    const d = descriptor(colour);
    const bytes = data(colour);
    if (!d || d.length < 3 || !bytes) {
      throw new DiffusekitError('DECODE_FAILED', `The DICOM PALETTE COLOR image lacks its ${colour} palette lookup table descriptor or data`, { details: { colour } });
    }
    const entries = d[0] === 0 ? 65536 : d[0]!;
    const bits = d[2]!;
    const words = new DataView(bytes);
    const needed = bits === 8 ? entries : entries * 2;
    if (bytes.byteLength < needed || (bits !== 8 && bits !== 16)) {
      throw new DiffusekitError('DECODE_FAILED', `The DICOM ${colour} palette states ${entries} entries of ${bits} bits but holds ${bytes.byteLength} bytes`, { details: { colour, entries, bits, bytes: bytes.byteLength } });
    }
    const table = new Uint8Array(entries);
    // 8-bit entries come packed (one byte each) or, as many writers store them, one per 16-bit word.
    const wordPerEntry = bits === 16 || bytes.byteLength >= entries * 2;
    const word = (e: number) => words.getUint16(2 * e, true);
    const highByte = bits === 16 || (wordPerEntry && Array.from({ length: entries }, (_, e) => word(e)).some((w) => w > 255));
    for (let e = 0; e < entries; e++) table[e] = !wordPerEntry ? words.getUint8(e) : highByte ? word(e) >> 8 : word(e);
    return { first: d[1]!, table };
  });
  if (tables.some((t) => t.first !== tables[0]!.first || t.table.length !== tables[0]!.table.length)) {
    throw new DiffusekitError('DECODE_FAILED', 'The DICOM red, green and blue palettes differ in size or first index', {});
  }
  return { first: tables[0]!.first, red: tables[0]!.table, green: tables[1]!.table, blue: tables[2]!.table };
}
