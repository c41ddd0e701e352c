import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  DiffusekitError,
  cropRaster,
  readImageFile,
  readImageFileHeader,
  throwIfAborted,
  writeFileAtomic,
  writeImageFile,
  type ImageFormat,
  type Rect,
} from '@diffusekit/core';
import { extensionOf } from '../http/image-io.js';
import { isCompleteImage, type ImageWorkOptions } from './image-file-work.js';
import type { FileWorkContext } from './run-batch.js';
import { mosaicVrt, type MosaicCell, type MosaicLayout } from './vrt.js';

export interface GridOptions {
  /** Cell side in input pixels. */
  size: number;
  /** Input pixels of context read around each cell and cut off after the task ran, so cells meet without seams of context. */
  margin: number;
}

/** The cells of a grid of `size` over a width x height image (the last row and column may be smaller). */
export function gridCells(width: number, height: number, size: number): (Rect & { row: number; col: number })[] {
  const cells: (Rect & { row: number; col: number })[] = [];
  for (let row = 0, y = 0; y < height; row++, y += size) {
    for (let col = 0, x = 0; x < width; col++, x += size) cells.push({ row, col, x, y, width: Math.min(size, width - x), height: Math.min(size, height - y) });
  }
  return cells;
}

/** A cell grown by `margin` on every side, clipped to the image. */
function withMargin(cell: Rect, margin: number, width: number, height: number): Rect {
  const x = Math.max(0, cell.x - margin);
  const y = Math.max(0, cell.y - margin);
  return { x, y, width: Math.min(width, cell.x + cell.width + margin) - x, height: Math.min(height, cell.y + cell.height + margin) - y };
}

/**
 * Runs an image task over a large image cell by cell: each cell is read as a window with some context around it (a
 * GeoTIFF reads just those pixels), processed, cut back to the cell and written as its own file in `<output stem>/`;
 * then a GDAL VRT at `output` puts the cells together as one raster (with the georeference, when there is one).
 * Memory is bounded by the cell, not the image. With `resume`, cells already written are kept.
 */
export function gridFileWork(options: ImageWorkOptions & { grid: GridOptions; resume: boolean }) {
  return async (input: string, output: string, context: FileWorkContext): Promise<Record<string, unknown>> => {
    const header = await readImageFileHeader(input, { signal: context.signal });
    const cells = gridCells(header.width, header.height, options.grid.size);
    const folder = output.slice(0, output.length - path.extname(output).length);
    await mkdir(folder, { recursive: true });
    const written: MosaicCell[] = [];
    let scale: number | undefined;
    let layout: MosaicLayout | undefined;
    let resumed = 0;
    const extension = options.format ? `.${extensionOf(options.format)}` : path.extname(input).toLowerCase();
    for (const [index, cell] of cells.entries()) {
      throwIfAborted(context.signal);
      context.onProgress({ kind: 'item', item: index + 1, of: cells.length, name: `r${cell.row}c${cell.col}` });
      const file = path.join(folder, `r${cell.row}c${cell.col}${extension}`);
      // What the mosaic needs of a cell: its size, and of the first one the layout (a finished cell's header says it).
      let result: MosaicLayout & { width: number; height: number };
      if (options.resume && (await isCompleteImage(file))) {
        resumed++;
        result = await readImageFileHeader(file, { signal: context.signal });
      } else {
        const window = withMargin(cell, options.grid.margin, header.width, header.height);
        const { raster } = await readImageFile(input, { signal: context.signal, window, ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}) });
        const taskInput = options.inputFor ? await options.inputFor(input, raster, context.signal) : raster;
        const out = (await options.task.run(taskInput, options.taskOptions, { signal: context.signal, onProgress: context.onProgress })).raster;
        const cellScale = out.width / window.width;
        if (!Number.isInteger(cellScale) || out.height !== window.height * cellScale) {
          throw new DiffusekitError('MODEL_INCOMPATIBLE', `The task gave a ${out.width}x${out.height} result for a ${window.width}x${window.height} cell; a grid needs an integer scale`);
        }
        const cellRaster = cropRaster(out, {
          x: (cell.x - window.x) * cellScale,
          y: (cell.y - window.y) * cellScale,
          width: cell.width * cellScale,
          height: cell.height * cellScale,
        });
        await writeImageFile(file, cellRaster, { signal: context.signal, ...(options.format ? { format: options.format } : {}) });
        result = cellRaster;
      }
      scale ??= result.width / cell.width;
      // Only the first cell's layout and every cell's place are kept: memory stays bounded by one cell.
      layout ??= { bands: result.bands, dtype: result.dtype, nodata: result.nodata, bandNames: result.bandNames, geo: result.geo };
      written.push({ file: path.relative(path.dirname(output), file), x: cell.x * scale, y: cell.y * scale, width: result.width, height: result.height });
    }
    // The index is written last and atomically: its presence marks the whole image as done for --resume.
    const vrt = mosaicVrt(header.width * scale!, header.height * scale!, layout!, written);
    await writeFileAtomic(output, vrt, context.signal);
    return { cells: cells.length, resumedCells: resumed, scale: scale!, folder: path.relative(path.dirname(output), folder) };
  };
}
