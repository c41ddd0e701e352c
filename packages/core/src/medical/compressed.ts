import { createRequire } from 'node:module';
import { DiffusekitError } from '../errors.js';

/**
 * Compressed DICOM transfer syntaxes decoded with maintained npm codec packages (WebAssembly builds of the reference
 * libraries): JPEG 2000 with OpenJPEG, JPEG-LS with CharLS. Each codec is loaded on first use only.
 */
export const CODEC_SYNTAXES: Record<string, { name: string; codec: 'openjpeg' | 'charls' }> = {
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', codec: 'openjpeg' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', codec: 'openjpeg' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', codec: 'charls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', codec: 'charls' },
};

interface FrameDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  getDecodedBuffer(): Uint8Array;
  delete?(): void;
}
type CodecModule = Record<string, new () => FrameDecoder>;

const require = createRequire(import.meta.url);
const modules = new Map<string, Promise<CodecModule>>();

function codecModule(codec: 'openjpeg' | 'charls'): Promise<CodecModule> {
  let loading = modules.get(codec);
  if (!loading) {
    const factory = require(codec === 'openjpeg' ? '@cornerstonejs/codec-openjpeg/decodewasmjs' : '@cornerstonejs/codec-charls/decodewasmjs') as (
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

/**
 * Decodes one compressed frame into its native samples (little-endian, 1 or 2 bytes each), checking that the stream
 * holds what the DICOM header states: `width` x `height`, one component, `bytes` per sample.
 */
export async function decodeCompressedFrame(syntax: string, encoded: Uint8Array, expected: { width: number; height: number; bytes: number }, where: string): Promise<Uint8Array> {
  const spec = CODEC_SYNTAXES[syntax];
  if (!spec) throw new DiffusekitError('UNSUPPORTED_TRANSFER_SYNTAX', `No codec for transfer syntax ${syntax}`, { details: { transferSyntax: syntax } });
  const module = await codecModule(spec.codec);
  const decoder = new module[spec.codec === 'openjpeg' ? 'J2KDecoder' : 'JpegLSDecoder']!();
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
    if (info.width !== expected.width || info.height !== expected.height || info.componentCount !== 1 || bytes !== expected.bytes) {
      throw new DiffusekitError(
        'DECODE_FAILED',
        `${where}: the ${spec.name} stream holds ${info.width}x${info.height}, ${info.componentCount} component(s) of ${info.bitsPerSample} bits but the header states ${expected.width}x${expected.height}, 1 sample of ${expected.bytes * 8} bits`,
        { details: { stream: info, header: expected } },
      );
    }
    // The decoder's buffer lives in WebAssembly memory that the next decode reuses: copy it out.
    return Uint8Array.from(decoded.subarray(0, expected.width * expected.height * bytes));
  } finally {
    decoder.delete?.();
  }
}
