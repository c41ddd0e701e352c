import { inflateSync } from 'node:zlib';
import { DiffusekitError } from '../../errors.js';
import type { Rect } from '../../raster/types.js';
import { fieldNumber, fieldNumbers } from './directory.js';
import type { TiffDirectory } from './directory.js';
import type { TiffLayout } from './layout.js';
import { Tag } from './tags.js';

const DEFLATE_COMPRESSIONS = [8, 32946];

/** Indexes of the strips or tiles that a read of `rect` decodes, in TIFF's numbering for the planar configuration. */
function blocksForRect(layout: TiffLayout, rect: Rect, planar: number, tiled: boolean): number[] {
  const { block, width, height, samples } = layout;
  const across = tiled ? Math.ceil(width / block.width) : 1;
  const down = Math.ceil(height / block.height);
  const firstCol = tiled ? Math.floor(rect.x / block.width) : 0;
  const lastCol = tiled ? Math.floor((rect.x + rect.width - 1) / block.width) : 0;
  const firstRow = Math.floor(rect.y / block.height);
  const lastRow = Math.floor((rect.y + rect.height - 1) / block.height);
  const indexes: number[] = [];
  for (let plane = 0; plane < (planar === 2 ? samples : 1); plane++) {
    for (let row = firstRow; row <= lastRow; row++) {
      for (let col = firstCol; col <= lastCol; col++) indexes.push(plane * across * down + row * across + col);
    }
  }
  return indexes;
}

/**
 * A deflate stream can inflate to far more than its block holds (a decompression bomb hidden in a small file), and
 * geotiff.js inflates without a cap. Each block the read needs is inflated here first with a hard output limit.
 */
export function checkDeflateBlocks(view: Uint8Array, directory: TiffDirectory, layout: TiffLayout, rect: Rect): void {
  if (!DEFLATE_COMPRESSIONS.includes(fieldNumber(directory, Tag.Compression) ?? 1)) return;
  const tiled = directory.fields.has(Tag.TileOffsets);
  const offsets = fieldNumbers(directory, tiled ? Tag.TileOffsets : Tag.StripOffsets) ?? [];
  const counts = fieldNumbers(directory, tiled ? Tag.TileByteCounts : Tag.StripByteCounts) ?? [];
  const planar = fieldNumber(directory, Tag.PlanarConfiguration) ?? 1;
  const samplesPerBlock = planar === 2 ? 1 : layout.samples;
  const blockBytes = Math.ceil((layout.block.width * layout.block.height * samplesPerBlock * layout.bitsPerSample) / 8);
  for (const index of blocksForRect(layout, rect, planar, tiled)) {
    const offset = offsets[index];
    const count = counts[index];
    if (offset === undefined || count === undefined || count === 0) continue;
    try {
      inflateSync(view.subarray(offset, offset + count), { maxOutputLength: blockBytes + 1024 });
    } catch (error) {
      const tooLarge = error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new DiffusekitError(
        'DECODE_FAILED',
        tooLarge
          ? `TIFF block ${index} inflates beyond the ${blockBytes} bytes it should hold (a decompression bomb or corrupt data)`
          : `TIFF block ${index} is not a valid deflate stream: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}
