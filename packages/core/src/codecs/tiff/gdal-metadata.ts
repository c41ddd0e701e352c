import { fieldText } from './directory.js';
import type { TiffDirectory } from './directory.js';
import { Tag } from './tags.js';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(attributes);
  return match ? unescapeXml(match[1]!) : undefined;
}

// TIFF ASCII fields travel as byte strings (one character per byte); GDAL puts UTF-8 text in them.
const utf8FromBytes = (bytes: string) => Buffer.from(bytes, 'latin1').toString('utf8');
const bytesFromUtf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** Band descriptions from the GDAL_METADATA tag (Item name="DESCRIPTION" role="description" sample="i"). */
export function readBandNames(directory: TiffDirectory, bands: number): string[] | undefined {
  const field = fieldText(directory, Tag.GdalMetadata);
  if (!field) return undefined;
  const xml = utf8FromBytes(field);
  const names = new Array<string>(bands).fill('');
  let found = false;
  for (const match of xml.matchAll(/<Item\b([^>]*)>([\s\S]*?)<\/Item>/g)) {
    const attributes = match[1]!;
    if (attribute(attributes, 'role') !== 'description') continue;
    const sample = Number(attribute(attributes, 'sample'));
    if (!Number.isInteger(sample) || sample < 0 || sample >= bands) continue;
    names[sample] = unescapeXml(match[2]!);
    found = true;
  }
  return found ? names : undefined;
}

/** GDAL_METADATA XML holding one description per named band; undefined when no band has a name. */
export function bandNamesMetadata(bandNames: readonly string[] | undefined): string | undefined {
  if (!bandNames || bandNames.every((name) => name === '')) return undefined;
  const items = bandNames
    .map((name, sample) => (name === '' ? '' : `  <Item name="DESCRIPTION" sample="${sample}" role="description">${escapeXml(name)}</Item>\n`))
    .join('');
  return bytesFromUtf8(`<GDALMetadata>\n${items}</GDALMetadata>\n`);
}

/** The GDAL_NODATA tag's value: a decimal number, or nan / inf / -inf. */
export function readNodata(directory: TiffDirectory): number | undefined {
  const text = fieldText(directory, Tag.GdalNodata)?.trim().toLowerCase();
  if (!text) return undefined;
  if (text === 'nan' || text === '-nan') return NaN;
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

export function nodataText(nodata: number): string {
  if (Number.isNaN(nodata)) return 'nan';
  if (nodata === Infinity) return 'inf';
  if (nodata === -Infinity) return '-inf';
  return String(nodata);
}
