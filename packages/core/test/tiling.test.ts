import { blendWeights, createRng, createTileFusion, cropTopLeft, extractTiles, planTiles, reflectIndex, reflectPad } from '@diffusekit/core';
import type { TilePlan } from '@diffusekit/core';
import { thrown } from './helpers.js';

const roundUp = (value: number, multiple: number): number => Math.ceil(value / multiple) * multiple;
// Bound once for the hot loops below: global lookups are slow inside jest's vm context.
const { abs, max } = Math;


/** Random plan options: sizes from 1 px to many tiles, tiles of 8..96 px, granularities 1..16, any legal overlap. */
function randomCase(
  rng: ReturnType<typeof createRng>,
  maxSide = 300,
): { width: number; height: number; tile: number; overlap: number; multipleOf: number } {
  const pick = (n: number): number => Math.floor(rng.uniform() * n);
  const multipleOf = [1, 2, 4, 8, 16][pick(5)]!;
  const tile = Math.max(8, multipleOf * (1 + pick(Math.floor(96 / multipleOf))));
  const overlap = pick(tile - multipleOf + 1);
  return { width: 1 + pick(maxSide), height: 1 + pick(maxSide), tile, overlap, multipleOf };
}

/** Checks the plan's invariants and returns a description of the first violation, or null. */
function violation(plan: TilePlan, o: ReturnType<typeof randomCase>): string | null {
  const m = o.multipleOf;
  if (plan.paddedWidth !== Math.max(roundUp(o.width, m), o.tile)) return `paddedWidth ${plan.paddedWidth}`;
  if (plan.paddedHeight !== Math.max(roundUp(o.height, m), o.tile)) return `paddedHeight ${plan.paddedHeight}`;
  if (plan.paddedWidth % m !== 0 || plan.paddedHeight % m !== 0) return 'padded size not a multiple';
  const covered = new Uint8Array(plan.paddedWidth * plan.paddedHeight);
  for (const r of plan.tiles) {
    if (r.width !== o.tile || r.height !== o.tile) return `tile ${r.index} has size ${r.width}x${r.height}`;
    if (r.x < 0 || r.y < 0 || r.x + r.width > plan.paddedWidth || r.y + r.height > plan.paddedHeight) return `tile ${r.index} outside`;
    if (r.x % m !== 0 || r.y % m !== 0) return `tile ${r.index} origin not aligned to ${m}`;
    for (let y = r.y; y < r.y + r.height; y++) covered.fill(1, y * plan.paddedWidth + r.x, y * plan.paddedWidth + r.x + r.width);
  }
  const hole = covered.indexOf(0);
  if (hole !== -1) return `pixel ${hole % plan.paddedWidth}, ${Math.floor(hole / plan.paddedWidth)} not covered`;
  for (const starts of [plan.xStarts, plan.yStarts]) {
    for (let i = 1; i < starts.length; i++) {
      const overlap = starts[i - 1]! + o.tile - starts[i]!;
      if (overlap < o.overlap) return `overlap ${overlap} < ${o.overlap}`;
      if (starts[i]! <= starts[i - 1]!) return 'tile origins not increasing';
    }
  }
  return null;
}

describe('planTiles', () => {
  test('over 300 random sizes: padding to a multiple and a tile, full coverage, overlaps >= requested, aligned origins', () => {
    const rng = createRng(99);
    for (let k = 0; k < 300; k++) {
      const o = randomCase(rng);
      const problem = violation(planTiles(o), o);
      if (problem !== null) throw new Error(`${JSON.stringify(o)}: ${problem}`);
    }
  });

  test('uses as few tiles as the overlap allows', () => {
    // 512 px with 128 px tiles overlapping >= 32: a stride of at most 96 needs ceil((512 - 128) / 96) + 1 = 5 tiles.
    const plan = planTiles({ width: 512, height: 128, tile: 128, overlap: 32, multipleOf: 8 });
    expect(plan.columns).toBe(5);
    expect(plan.rows).toBe(1);
    expect(plan.tiles).toHaveLength(5);
    expect(planTiles({ width: 100, height: 60, tile: 128, overlap: 16, multipleOf: 8 }).tiles).toHaveLength(1);
  });

  test('invalid options are rejected naming the option', () => {
    expect(thrown(() => planTiles({ width: 10, height: 10, tile: 30, multipleOf: 8 })).message).toContain('for tile');
    expect(thrown(() => planTiles({ width: 10, height: 10, tile: 32, overlap: 32, multipleOf: 8 })).message).toContain(
      'Expected an integer in [0, 24] (tile - multipleOf) for overlap',
    );
    expect(thrown(() => planTiles({ width: 0, height: 10, tile: 32 })).code).toBe('INVALID_OPTION');
  });
});

describe('blend weights and fusion', () => {
  test('over 120 random plans the fused weights sum to one at every pixel and no weight is zero', () => {
    const rng = createRng(123);
    for (let k = 0; k < 120; k++) {
      const o = randomCase(rng, 200);
      const plan = planTiles(o);
      const fusion = createTileFusion(plan, 1);
      fusion.reset();
      for (const rect of plan.tiles) {
        const w = blendWeights(plan, rect.index);
        for (let i = 0; i < w.length; i++) {
          if (!(w[i]! > 0 && w[i]! <= 1)) throw new Error(`${JSON.stringify(o)}: tile ${rect.index} has a weight outside (0, 1]`);
        }
        fusion.add(rect.index, new Float32Array(rect.width * rect.height).fill(1));
      }
      const sum = fusion.result();
      let worst = 0;
      for (let i = 0; i < sum.length; i++) worst = max(worst, abs(sum[i]! - 1));
      if (worst > 1e-6) throw new Error(`${JSON.stringify(o)}: fused weights sum to 1 +- ${worst}`);
    }
  });

  test('weights ramp only across overlaps and stay 1 at the image border and in the interior', () => {
    const plan = planTiles({ width: 200, height: 64, tile: 64, overlap: 16, multipleOf: 8 });
    expect(plan.rows).toBe(1);
    const first = blendWeights(plan, 0);
    const row = Array.from(first.subarray(0, 64));
    expect(row[0]).toBe(1); // the left image border has no neighbour
    const overlapRight = plan.xStarts[0]! + 64 - plan.xStarts[1]!;
    expect(row.slice(0, 64 - overlapRight).every((v) => v === 1)).toBe(true);
    const ramp = row.slice(64 - overlapRight);
    for (let i = 1; i < ramp.length; i++) expect(ramp[i]!).toBeLessThan(ramp[i - 1]!);
    expect(ramp[ramp.length - 1]!).toBeGreaterThan(0);
    // Rows are identical (one row of tiles, so no vertical ramp).
    expect(Array.from(first.subarray(64 * 63, 64 * 64))).toEqual(row);
  });

  test('fusing crops of one image gives back that image, for several channels', () => {
    const plan = planTiles({ width: 77, height: 50, tile: 32, overlap: 12, multipleOf: 4 });
    const channels = 3;
    const shape = { channels, height: plan.paddedHeight, width: plan.paddedWidth };
    const image = createRng(5).normal(channels * plan.paddedHeight * plan.paddedWidth);
    const tiles = extractTiles(image, shape, plan.tiles);
    const fusion = createTileFusion(plan, channels);
    fusion.reset();
    plan.tiles.forEach((rect, i) => fusion.add(rect.index, tiles, i * channels * 32 * 32));
    const fused = fusion.result();
    let worst = 0;
    for (let i = 0; i < image.length; i++) worst = max(worst, abs(fused[i]! - image[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('padding, cropping and tile extraction', () => {
  test('reflectPad mirrors without repeating the edge, folding back for pads wider than the image', () => {
    // numpy.pad(mode='reflect') on [a, b, c] continues ... c, b, a, b, c, b, a ...
    expect(Array.from({ length: 9 }, (_, i) => reflectIndex(i, 3))).toEqual([0, 1, 2, 1, 0, 1, 2, 1, 0]);
    expect(reflectIndex(7, 1)).toBe(0);
    const rng = createRng(8);
    for (let k = 0; k < 50; k++) {
      const channels = 1 + Math.floor(rng.uniform() * 3);
      const height = 1 + Math.floor(rng.uniform() * 9);
      const width = 1 + Math.floor(rng.uniform() * 9);
      const paddedHeight = height + Math.floor(rng.uniform() * 20);
      const paddedWidth = width + Math.floor(rng.uniform() * 20);
      const src = rng.normal(channels * height * width);
      const shape = { channels, height, width };
      const padded = reflectPad(src, shape, paddedHeight, paddedWidth);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < paddedHeight; y++) {
          for (let x = 0; x < paddedWidth; x++) {
            // Reflection by definition: mirror at the last pixel, mirror back at the first, and so on.
            const fold = (i: number, n: number): number => {
              if (n === 1) return 0;
              let j = i;
              while (j >= n) j = j > 2 * (n - 1) ? j - 2 * (n - 1) : 2 * (n - 1) - j;
              return j;
            };
            const expected = src[(c * height + fold(y, height)) * width + fold(x, width)]!;
            if (padded[(c * paddedHeight + y) * paddedWidth + x] !== expected) throw new Error(`mismatch at ${c},${y},${x}`);
          }
        }
      }
      expect(Array.from(cropTopLeft(padded, { channels, height: paddedHeight, width: paddedWidth }, height, width))).toEqual(Array.from(src));
    }
  });

  test('extractTiles writes an [n, c, th, tw] batch equal to direct indexing', () => {
    const plan = planTiles({ width: 45, height: 38, tile: 16, overlap: 4, multipleOf: 4 });
    const channels = 2;
    const shape = { channels, height: plan.paddedHeight, width: plan.paddedWidth };
    const image = createRng(3).normal(channels * plan.paddedHeight * plan.paddedWidth);
    const batch = extractTiles(image, shape, plan.tiles);
    expect(batch).toHaveLength(plan.tiles.length * channels * 16 * 16);
    plan.tiles.forEach((rect, n) => {
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < 16; y++) {
          for (let x = 0; x < 16; x++) {
            const got = batch[((n * channels + c) * 16 + y) * 16 + x];
            const want = image[(c * plan.paddedHeight + rect.y + y) * plan.paddedWidth + rect.x + x];
            if (got !== want) throw new Error(`tile ${n} differs at ${c},${y},${x}`);
          }
        }
      }
    });
    expect(thrown(() => reflectPad(new Float32Array(5), { channels: 1, height: 2, width: 3 }, 4, 4)).code).toBe('INVALID_ARGUMENT');
  });
});
