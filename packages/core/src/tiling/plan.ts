import { invalidOption } from '../errors.js';

/** One tile, in the coordinates of the padded image. */
export interface TileRect {
  readonly index: number;
  readonly col: number;
  readonly row: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface TilePlanOptions {
  width: number;
  height: number;
  /** Tile side in pixels; a multiple of `multipleOf`. */
  tile: number;
  /**
   * Minimum overlap between neighbouring tiles, in [0, tile - multipleOf]; default a quarter tile, rounded down to a
   * multiple of `multipleOf`.
   */
  overlap?: number;
  /** The network's size granularity (2^downsamplings for a UNet); padded sizes and tile origins are multiples of it. Default 1. */
  multipleOf?: number;
}

export interface TilePlan {
  /** The image size before padding. */
  readonly width: number;
  readonly height: number;
  /** The size after reflect padding on the right and bottom: a multiple of `multipleOf` and at least one tile. */
  readonly paddedWidth: number;
  readonly paddedHeight: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** The requested minimum overlap. */
  readonly overlap: number;
  readonly multipleOf: number;
  readonly columns: number;
  readonly rows: number;
  /** Row-major: index = row * columns + col. */
  readonly tiles: readonly TileRect[];
  /** Tile origins along each axis (tiles in one column share an x, tiles in one row a y). */
  readonly xStarts: readonly number[];
  readonly yStarts: readonly number[];
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidOption(name, 'a positive integer', value);
  return value;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/**
 * Tile origins along one axis: as few tiles as keep every gap between origins at most `stride` (so neighbours overlap
 * by at least tile - stride), spread evenly and snapped to multiples of `multipleOf` so that every tile sees the same
 * downsampling grid as its neighbours.
 */
function axisStarts(length: number, tile: number, stride: number, multipleOf: number): number[] {
  if (length <= tile) return [0];
  const count = 1 + Math.ceil((length - tile) / stride);
  const units = (length - tile) / multipleOf;
  const starts: number[] = [];
  for (let i = 0; i < count; i++) starts.push(Math.round((i * units) / (count - 1)) * multipleOf);
  return starts;
}

/** Lays out overlapping square tiles over an image padded to the network's granularity. */
export function planTiles(options: TilePlanOptions): TilePlan {
  const width = positiveInteger('width', options.width);
  const height = positiveInteger('height', options.height);
  const multipleOf = positiveInteger('multipleOf', options.multipleOf ?? 1);
  const tile = positiveInteger('tile', options.tile);
  if (tile % multipleOf !== 0) throw invalidOption('tile', `a multiple of multipleOf (${multipleOf})`, tile);
  const maxOverlap = tile - multipleOf;
  const overlap = options.overlap ?? Math.floor(tile / 4 / multipleOf) * multipleOf;
  if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < 0 || overlap > maxOverlap) {
    throw invalidOption('overlap', `an integer in [0, ${maxOverlap}] (tile - multipleOf)`, overlap);
  }
  const paddedWidth = Math.max(roundUp(width, multipleOf), tile);
  const paddedHeight = Math.max(roundUp(height, multipleOf), tile);
  const stride = Math.floor((tile - overlap) / multipleOf) * multipleOf;
  const xStarts = axisStarts(paddedWidth, tile, stride, multipleOf);
  const yStarts = axisStarts(paddedHeight, tile, stride, multipleOf);
  const tiles: TileRect[] = [];
  yStarts.forEach((y, row) =>
    xStarts.forEach((x, col) => tiles.push({ index: tiles.length, col, row, x, y, width: tile, height: tile })),
  );
  return {
    width, height, paddedWidth, paddedHeight, tileWidth: tile, tileHeight: tile, overlap, multipleOf,
    columns: xStarts.length, rows: yStarts.length, tiles, xStarts, yStarts,
  };
}

/** A plan with one tile that is the whole, unpadded image (the untiled case). */
export function wholeImagePlan(width: number, height: number): TilePlan {
  positiveInteger('width', width);
  positiveInteger('height', height);
  return {
    width, height, paddedWidth: width, paddedHeight: height, tileWidth: width, tileHeight: height, overlap: 0, multipleOf: 1,
    columns: 1, rows: 1, tiles: [{ index: 0, col: 0, row: 0, x: 0, y: 0, width, height }], xStarts: [0], yStarts: [0],
  };
}
