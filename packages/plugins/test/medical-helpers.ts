import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FIXTURES, REPO_ROOT } from './cli-helpers.js';

/** A copy of a fixture that states JPEG Extended (Process 2 & 4), a transfer syntax with no codec here (dcmjs is core's dependency). */
export async function unsupportedLabelled(target: string): Promise<string> {
  const dcmjs = createRequire(path.join(REPO_ROOT, 'packages', 'core', 'package.json'))('dcmjs');
  const bytes = await readFile(path.join(FIXTURES, 'medical', 'mr-implicit.dcm'));
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.meta);
  const out = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...meta, TransferSyntaxUID: '1.2.840.10008.1.2.4.51' }));
  out.dict = dict.dict;
  await writeFile(target, Buffer.from(out.write({ allowInvalidVRLength: true })));
  return target;
}

/**
 * From the ch2 fixture (45x54x45 uint8, RAS sform): a 4-D file of two 45x54x6 volumes (slices 18-23 and 24-29, as if
 * two time points) and the 3-D file of its volume 1 alone, with the same header otherwise.
 */
export function fourDNifti(): { fourD: Buffer; volume1: Buffer } {
  const nii = gunzipSync(readFileSync(path.join(FIXTURES, 'medical', 'ch2-small.nii.gz')));
  const offset = nii.readFloatLE(108);
  const plane = 45 * 54;
  const header = (rank: number, volumes: number): Buffer => {
    const h = Buffer.from(nii.subarray(0, offset));
    h.writeInt16LE(rank, 40);
    h.writeInt16LE(6, 46);
    h.writeInt16LE(volumes, 48);
    h.writeFloatLE(2.5, 92); // pixdim[4]: repetition time
    return h;
  };
  const slices = (from: number, count: number) => nii.subarray(offset + from * plane, offset + (from + count) * plane);
  return { fourD: gzipSync(Buffer.concat([header(4, 2), slices(18, 12)])), volume1: gzipSync(Buffer.concat([header(3, 1), slices(24, 6)])) };
}
