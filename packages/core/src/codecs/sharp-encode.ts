import sharp from 'sharp';
import { asDiffusekitError } from '../errors.js';
import type { Raster } from '../raster/types.js';
import type { EncodeOptions } from './types.js';

export type SharpEncodable = 'png' | 'jpeg' | 'webp' | 'tiff';

/** Planar samples to the pixel-interleaved layout that libvips takes as raw input. */
function interleave(raster: Raster): Uint8Array | Uint16Array {
  const { width, height, bands, data } = raster;
  const plane = width * height;
  const out = raster.dtype === 'uint16' ? new Uint16Array(plane * bands) : new Uint8Array(plane * bands);
  for (let band = 0; band < bands; band++) {
    const from = band * plane;
    for (let i = 0; i < plane; i++) out[i * bands + band] = data[from + i]!;
  }
  return out;
}

/** Encodes a uint8/uint16 raster of 1-4 bands (the caller has checked that the format can hold it). */
export async function encodeWithSharp(raster: Raster, format: SharpEncodable, options: EncodeOptions): Promise<Buffer> {
  const sixteen = raster.dtype === 'uint16';
  const channels = raster.bands as 1 | 2 | 3 | 4;
  let image = sharp(interleave(raster), { raw: { width: raster.width, height: raster.height, channels } });
  image = image.toColourspace(sixteen ? (channels <= 2 ? 'grey16' : 'rgb16') : channels <= 2 ? 'b-w' : 'srgb');
  const quality = options.quality ?? 90;
  switch (format) {
    case 'png':
      image = image.png({ compressionLevel: 6 });
      break;
    case 'jpeg':
      image = image.jpeg({ quality });
      break;
    case 'webp':
      image = image.webp(options.lossless ? { lossless: true } : { quality });
      break;
    case 'tiff':
      image = image.tiff({ compression: options.compression === 'none' ? 'none' : 'deflate' });
      break;
  }
  try {
    return await image.toBuffer();
  } catch (error) {
    throw asDiffusekitError(error, 'ENCODE_FAILED', `Could not encode the raster as ${format.toUpperCase()}`);
  }
}
