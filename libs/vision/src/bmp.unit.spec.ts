import { decodeBmp, isBmp, readBmpHeader } from './bmp';
import { encodeBmp } from './test-support/bmp-writer';

// 5x3 image (odd width: rows need padding), every pixel distinct.
const width = 5;
const height = 3;
const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256);

describe('BMP decoder', () => {
  it.each([
    ['24-bit bottom-up', { bitsPerPixel: 24 as const }],
    ['24-bit top-down', { bitsPerPixel: 24 as const, topDown: true }],
    ['32-bit bottom-up', { bitsPerPixel: 32 as const }],
    ['8-bit palette', { bitsPerPixel: 8 as const }],
    ['8-bit palette top-down', { bitsPerPixel: 8 as const, topDown: true }],
  ])('decodes %s to the original RGB', (_name, options) => {
    const bytes = encodeBmp(rgb, width, height, options);
    expect(isBmp(bytes)).toBe(true);
    const image = decodeBmp(bytes);
    expect(image).toMatchObject({ width, height, channels: 3 });
    expect(Array.from(image.data)).toEqual(Array.from(rgb));
  });

  it('reads the header without decoding', () => {
    expect(readBmpHeader(encodeBmp(rgb, width, height, { bitsPerPixel: 24, topDown: true }))).toMatchObject({
      width, height, topDown: true, bitsPerPixel: 24, compression: 0,
    });
  });

  it('explains truncated and unsupported files', () => {
    const bytes = encodeBmp(rgb, width, height, { bitsPerPixel: 24 });
    expect(() => decodeBmp(bytes.subarray(0, bytes.length - 10))).toThrow(/pixel data truncated/);
    const rle = bytes.slice();
    new DataView(rle.buffer).setUint32(30, 1, true);
    expect(() => decodeBmp(rle)).toThrow(/RLE8 is not supported/);
    expect(() => decodeBmp(Uint8Array.from([0x42, 0x4d, 0, 0]))).toThrow(/truncated inside its header/);
  });
});
