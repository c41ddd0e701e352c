import { createRequire } from 'node:module';
import { DiffusekitError } from '../errors.js';
import { decodeRleFrame } from './rle.js';

type WasmCodec = 'openjpeg' | 'openjph' | 'charls' | 'libjpeg-turbo';

/**
 * Compressed DICOM transfer syntaxes decoded with maintained npm codec packages: JPEG 2000 with OpenJPEG,
 * High-Throughput JPEG 2000 (HTJ2K) with OpenJPH, JPEG-LS with CharLS, 8-bit JPEG baseline with libjpeg-turbo
 * (WebAssembly builds of the reference libraries), and JPEG lossless (process 14) with jpeg-lossless-decoder-js.
 * Each codec is loaded on first use only. RLE Lossless, which no package decodes on its own, with ours (rle.ts).
 */
export const CODEC_SYNTAXES: Record<string, { name: string; codec: WasmCodec | 'jpeg-lossless' | 'rle' }> = {
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', codec: 'openjpeg' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', codec: 'openjpeg' },
  '1.2.840.10008.1.2.4.201': { name: 'HTJ2K Lossless', codec: 'openjph' },
  '1.2.840.10008.1.2.4.202': { name: 'HTJ2K Lossless RPCL', codec: 'openjph' },
  '1.2.840.10008.1.2.4.203': { name: 'HTJ2K', codec: 'openjph' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', codec: 'charls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', codec: 'charls' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', codec: 'libjpeg-turbo' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless, Non-Hierarchical (Process 14)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless, First-Order Prediction (Process 14, SV1)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', codec: 'rle' },
};

const WASM_PACKAGES: Record<WasmCodec, { module: string; decoder: string }> = {
  openjpeg: { module: '@cornerstonejs/codec-openjpeg/decodewasmjs', decoder: 'J2KDecoder' },
  openjph: { module: '@cornerstonejs/codec-openjph/wasmjs', decoder: 'HTJ2KDecoder' },
  charls: { module: '@cornerstonejs/codec-charls/decodewasmjs', decoder: 'JpegLSDecoder' },
  'libjpeg-turbo': { module: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', decoder: 'JPEGDecoder' },
};

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, bytesPerSample: number): ArrayBufferView;
  xDim: number;
  yDim: number;
  numComp: number;
}

interface FrameDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  getDecodedBuffer(): Uint8Array;
  /** CharLS: 0 none (components one after another), 1 line, 2 sample. */
  getInterleaveMode?(): number;
  delete?(): void;
}
type CodecModule = Record<string, new () => FrameDecoder>;

const require = createRequire(import.meta.url);
const modules = new Map<string, Promise<CodecModule>>();

function codecModule(codec: WasmCodec): Promise<CodecModule> {
  let loading = modules.get(codec);
  if (!loading) {
    const factory = require(WASM_PACKAGES[codec].module) as (
      options: Record<string, unknown>,
    ) => Promise<CodecModule>;
    // The libraries log progress on stdout; a failure is reported through the thrown error instead.
    loading = factory({ print: () => undefined, printErr: () => undefined });
    modules.set(codec, loading);
  }
  return loading;
}

/** An emscripten module reports C++ exceptions as bare numbers; turn anything thrown into text. */
const reason = (error: unknown): string => (error instanceof Error ? error.message : typeof error === 'number' ? `codec error ${error}` : String(error));

/** What a frame must hold: its size, bytes per sample and components (1 grey, 3 colour), as the DICOM header states. */
export interface FrameShape {
  width: number;
  height: number;
  bytes: number;
  components: 1 | 3;
}

/**
 * Codecs whose colour output the tests check against an independent decoder or a lossless round trip. Colour JPEG
 * lossless (process 14) is refused until it is.
 */
const COLOUR_CODECS: ReadonlySet<string> = new Set(['openjpeg', 'openjph', 'libjpeg-turbo', 'charls', 'rle']);
/** Codecs that return colour as RGB whatever the stream's colour space (JPEG's YCbCr, JPEG 2000's RCT/ICT). */
const RGB_CODECS: ReadonlySet<string> = new Set(['openjpeg', 'openjph', 'libjpeg-turbo']);

/**
 * One decoded frame: samples little-endian; colour either pixel-interleaved or one plane per component, and `rgb` when
 * the codec converted it to RGB itself.
 */
export interface DecodedFrame {
  samples: Uint8Array;
  layout: 'interleaved' | 'planar';
  rgb: boolean;
}

/**
 * Decodes one compressed frame into its native samples (little-endian, 1 or 2 bytes each), checking that the stream
 * holds what the DICOM header states: `width` x `height`, the components, `bytes` per sample. Colour comes back
 * pixel-interleaved from the JPEG family (as RGB: the codecs undo the YCbCr and J2K colour transforms) and as component
 * planes from RLE.
 */
export async function decodeCompressedFrame(syntax: string, encoded: Uint8Array, expected: FrameShape, where: string): Promise<DecodedFrame> {
  const spec = CODEC_SYNTAXES[syntax];
  if (!spec) throw new DiffusekitError('UNSUPPORTED_TRANSFER_SYNTAX', `No codec for transfer syntax ${syntax}`, { details: { transferSyntax: syntax } });
  if (expected.components > 1 && !COLOUR_CODECS.has(spec.codec)) {
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `${where}: colour ${spec.name} is not read; accepted for colour: uncompressed, RLE Lossless, JPEG baseline, JPEG 2000, HTJ2K and JPEG-LS`, {
      details: { transferSyntax: syntax, components: expected.components },
    });
  }
  if (spec.codec === 'jpeg-lossless') return { samples: decodeLossless(spec.name, encoded, expected, where, syntax), layout: 'interleaved', rgb: false };
  if (spec.codec === 'rle') return { samples: decodeRleFrame(encoded, expected, where), layout: 'planar', rgb: false };
  const module = await codecModule(spec.codec);
  const decoder = new module[WASM_PACKAGES[spec.codec].decoder]!();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    try {
      decoder.decode();
    } catch (error) {
      throw new DiffusekitError('DECODE_FAILED', `${where}: the ${spec.name} stream is corrupt or truncated (${reason(error)})`, { details: { transferSyntax: syntax } });
    }
    const info = decoder.getFrameInfo();
    const decoded = decoder.getDecodedBuffer();
    const bytes = info.bitsPerSample > 8 ? 2 : 1;
    if (info.width !== expected.width || info.height !== expected.height || info.componentCount !== expected.components || bytes !== expected.bytes) {
      throw new DiffusekitError(
        'DECODE_FAILED',
        `${where}: the ${spec.name} stream holds ${info.width}x${info.height}, ${info.componentCount} component(s) of ${info.bitsPerSample} bits but the header states ${expected.width}x${expected.height}, ${expected.components} sample(s) of ${expected.bytes * 8} bits`,
        { details: { stream: info, header: expected } },
      );
    }
    // The decoder's buffer lives in WebAssembly memory that the next decode reuses: copy it out.
    // CharLS returns the components of a non-interleaved JPEG-LS stream (interleave mode 0) as planes.
    const planar = spec.codec === 'charls' && expected.components > 1 && decoder.getInterleaveMode?.() === 0;
    return { samples: Uint8Array.from(decoded.subarray(0, expected.width * expected.height * expected.components * bytes)), layout: planar ? 'planar' : 'interleaved', rgb: RGB_CODECS.has(spec.codec) };
  } finally {
    decoder.delete?.();
  }
}

/** JPEG lossless (process 14) with jpeg-lossless-decoder-js, which decodes to `bytes` per sample in host order. */
function decodeLossless(name: string, encoded: Uint8Array, expected: FrameShape, where: string, syntax: string): Uint8Array {
  const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const decoder = new Decoder();
  let out: ArrayBufferView;
  try {
    const copy = Uint8Array.from(encoded);
    out = decoder.decode(copy.buffer, 0, copy.length, expected.bytes);
  } catch (error) {
    throw new DiffusekitError('DECODE_FAILED', `${where}: the ${name} stream is corrupt or truncated (${reason(error)})`, { details: { transferSyntax: syntax } });
  }
  const size = expected.width * expected.height * expected.bytes;
  if (decoder.xDim !== expected.width || decoder.yDim !== expected.height || decoder.numComp !== 1 || out.byteLength < size) {
    throw new DiffusekitError(
      'DECODE_FAILED',
      `${where}: the ${name} stream holds ${decoder.xDim}x${decoder.yDim}, ${decoder.numComp} component(s) but the header states ${expected.width}x${expected.height}, 1 sample`,
      { details: { header: expected } },
    );
  }
  // The decoder writes native (little-endian on every platform Node runs on) samples.
  return new Uint8Array(out.buffer, out.byteOffset, size);
}
