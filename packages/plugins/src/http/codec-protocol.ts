import type { ImageFormat, ImageHeader, Raster, Volume } from '@diffusekit/core';

/** What the codec thread is asked to do: check a header against the pixel limit, decode, or encode. */
export type CodecRequest =
  | { id: number; op: 'header'; bytes: Uint8Array; maxPixels: number }
  | { id: number; op: 'decode'; bytes: Uint8Array; maxPixels: number; volumeIndex?: number }
  | { id: number; op: 'encode'; raster: Raster; format: ImageFormat }
  | { id: number; op: 'encode-volume'; volume: Volume; format: 'dicom' | 'nifti'; derivation?: string }
  | { id: number; op: 'encode-segmentation'; labels: Volume; classes: string[]; algorithm: string };

/**
 * A coded error keeps its code and its details as JSON text (what they become in the answer anyway; parsed on arrival
 * they are plain objects of the receiving realm). Anything else crosses as a plain message: a server fault.
 */
export type CodecFailure = { code: string; message: string; detailsJson?: string } | { code?: undefined; message: string };

export type CodecReply =
  | { id: number; ok: true; header: ImageHeader }
  | { id: number; ok: true; raster: Raster; volume?: Volume }
  | { id: number; ok: true; bytes: Uint8Array }
  | { id: number; ok: false; error: CodecFailure };
