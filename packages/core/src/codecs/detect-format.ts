import { DiffusekitError, isDiffusekitError } from '../errors.js';
import { toByteView } from './input-bytes.js';
import { isDicom } from '../medical/dicom.js';
import { gunzipPrefix, isGzip, looksLikeNifti } from '../medical/nifti.js';
import { isAnalyzeHeader } from '../medical/analyze.js';
import { readTiffDirectory } from './tiff/directory.js';
import { GEO_TAGS } from './tiff/tags.js';
import type { ImageBytes, ImageFormat } from './types.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(view: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return view.length >= at + bytes.length && bytes.every((b, i) => view[at + i] === b);
}

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

function containerOf(view: Uint8Array): 'png' | 'jpeg' | 'webp' | 'tiff' | 'dicom' | 'nifti' | undefined {
  if (startsWith(view, PNG_SIGNATURE)) return 'png';
  if (isDicom(view)) return 'dicom';
  if (looksLikeNifti(view)) return 'nifti';
  // A gzip stream is a .nii.gz when what it starts with is a NIfTI header (only a bounded prefix is inflated).
  if (isGzip(view) && looksLikeNifti(gunzipPrefix(view, 1024))) return 'nifti';
  if (startsWith(view, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(view, ascii('RIFF')) && startsWith(view, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(view, [0x49, 0x49, 0x2a, 0x00]) || startsWith(view, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(view, [0x49, 0x49, 0x2b, 0x00]) || startsWith(view, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  return undefined;
}

/**
 * The image format, judged from the content (magic bytes), never from a file name. A TIFF whose first image carries
 * georeferencing tags is 'geotiff'. DICOM is recognised by "DICM" at byte 128, NIfTI by sizeof_hdr 348 or 540 and its
 * magic, also inside gzip. EMPTY_INPUT for no bytes, UNSUPPORTED_FORMAT for anything unrecognised.
 */
export function detectFormat(bytes: ImageBytes): ImageFormat {
  const view = toByteView(bytes);
  const container = containerOf(view);
  if (container === undefined) {
    if (isAnalyzeHeader(view)) {
      throw new DiffusekitError('UNSUPPORTED_FORMAT', 'These bytes are an ANALYZE 7.5 header (.hdr): its voxels are in the .img file beside it. Read the pair by path (readImageFile, the CLI), or send a single-file .nii / .nii.gz', {
        details: { format: 'analyze', pair: true },
      });
    }
    const head = Array.from(view.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DiffusekitError('UNSUPPORTED_FORMAT', `Unrecognised image data (first bytes: ${head}); accepted: PNG, JPEG, WebP, TIFF, GeoTIFF, DICOM (Part 10), NIfTI-1/NIfTI-2 (.nii, .nii.gz)`, {
      details: { firstBytes: head },
    });
  }
  if (container !== 'tiff') return container;
  try {
    const directory = readTiffDirectory(view);
    return GEO_TAGS.some((tag) => directory.fields.has(tag)) ? 'geotiff' : 'tiff';
  } catch (error) {
    // A TIFF whose directory cannot be read is still a TIFF; decoding reports the corruption.
    if (isDiffusekitError(error)) return 'tiff';
    throw error;
  }
}
