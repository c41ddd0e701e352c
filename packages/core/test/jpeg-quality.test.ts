import sharp from 'sharp';
import { decodeImage, estimateJpegQuality, ijgLuminanceTable, readLuminanceTable } from '@diffusekit/core';

async function jpegAt(quality: number): Promise<Buffer> {
  const pixels = Buffer.alloc(48 * 32 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 251;
  return sharp(pixels, { raw: { width: 48, height: 32, channels: 3 } }).jpeg({ quality }).toBuffer();
}

describe('JPEG quality estimation', () => {
  it('matches the IJG scaling rule at known anchor points', () => {
    expect(ijgLuminanceTable(50)[0]).toBe(16); // the standard table itself
    expect(ijgLuminanceTable(100).every((v) => v === 1)).toBe(true);
    expect(ijgLuminanceTable(1)[0]).toBe(255); // clamped to baseline 8-bit
    expect(ijgLuminanceTable(10)[0]).toBe(80); // 16 * 500 / 100
  });

  it.each([5, 10, 20, 30, 40, 75, 90])('recovers quality %i from a JPEG written at that quality', async (q) => {
    const bytes = await jpegAt(q);
    expect(readLuminanceTable(bytes)).toHaveLength(64);
    expect(estimateJpegQuality(bytes)).toEqual({ quality: q, exact: true });
    expect((await decodeImage(bytes)).raster.sourceQuality).toBe(q);
  });

  it('gives no estimate for data without quantisation tables', () => {
    expect(estimateJpegQuality(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
    expect(estimateJpegQuality(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]))).toBeUndefined();
  });
});
