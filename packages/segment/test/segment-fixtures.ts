import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listLabelledImages, readLabelPalette, readLabelledImage, type LabelledImage } from '@diffusekit/segment';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'segment');

/** The three labelled 64x64 aerial crops (two classes) of test/fixtures/segment. */
export async function fixtureImages(): Promise<LabelledImage[]> {
  const palette = await readLabelPalette(path.join(FIXTURES, 'palette.json'));
  const pairs = await listLabelledImages(path.join(FIXTURES, 'images'), path.join(FIXTURES, 'masks'));
  return Promise.all(pairs.map((p) => readLabelledImage(p, palette)));
}
