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
    };

export const COLOUR_PHOTOMETRICS = ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'] as const;
export type ColourPhotometric = (typeof COLOUR_PHOTOMETRICS)[number];

/**
 * The sample model of a data set, or UNSUPPORTED_FORMAT naming what it holds: MONOCHROME1/2 with one sample, or three
 * samples of RGB or YBR (8 bits; checked by the caller with the bit depth).
 */
export function sampleModelOf(samples: number, photometric: string, planarConfiguration: number | undefined): SampleModel {
  if (samples === 1 && photometric.startsWith('MONOCHROME')) return { bands: 1 };
  if (samples === 3 && (COLOUR_PHOTOMETRICS as readonly string[]).includes(photometric)) {
    return { bands: 3, photometric: photometric as ColourPhotometric, planar: planarConfiguration === 1 ? 1 : 0 };
  }
  throw new DiffusekitError(
    'UNSUPPORTED_FORMAT',
    `DICOM ${photometric} with ${samples} sample(s) per pixel is not read; accepted: MONOCHROME1/MONOCHROME2 with 1 sample per pixel, or ${COLOUR_PHOTOMETRICS.join('/')} with 3`,
    { details: { photometric, samplesPerPixel: samples } },
  );
}

/** Bytes of one native frame: YBR_FULL_422 stores two luma samples and one Cb, Cr pair per two pixels. */
export function nativeFrameBytes(model: SampleModel, width: number, height: number, bytesPerSample: number): number {
  if (model.bands === 1) return width * height * bytesPerSample;
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
export function nativeColourFrame(model: Extract<SampleModel, { bands: 3 }>, src: Uint8Array, width: number, height: number, out: Uint8Array, base: number): void {
  const plane = width * height;
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
 * A decoded RLE colour frame (three planes, as RLE stores one segment per component) as RGB planes: YBR_FULL is
 * converted; RGB is already what it should be.
 */
export function rleColourFrame(model: Extract<SampleModel, { bands: 3 }>, planes: Uint8Array, plane: number, out: Uint8Array, base: number): void {
  out.set(planes.subarray(0, 3 * plane), base);
  if (model.photometric === 'YBR_FULL') ybrPlanesToRgb(out, plane, base);
}

/** Three planes of a frame back to R1 G1 B1 R2 ... (what DICOM RGB with PlanarConfiguration 0 stores). */
export function interleave(planes: ArrayLike<number>, plane: number, base: number, out: Uint8Array, at: number): void {
  for (let p = 0; p < plane; p++) {
    out[at + 3 * p] = planes[base + p]!;
    out[at + 3 * p + 1] = planes[base + plane + p]!;
    out[at + 3 * p + 2] = planes[base + 2 * plane + p]!;
  }
}
