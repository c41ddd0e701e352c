import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
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
