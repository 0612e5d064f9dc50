import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageDecodeError } from './errors';
import { decodeImage, type DecodedImage } from './image-decode';
import { encodeBmp } from './test-support/bmp-writer';
import { itIf } from '@featx/testing';

const SHARED_IMAGES = path.resolve(__dirname, '../../../../shared/models/test_images');

function pixel(image: DecodedImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return Array.from(image.data.subarray(i, i + 3));
}

function expectColour(actual: number[], expected: number[], tolerance = 8): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tolerance));
}

/** width x height RGB where each pixel's colour comes from fn(x, y). */
function rgbImage(width: number, height: number, fn: (x: number, y: number) => number[], channels = 3): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fn(x, y), (y * width + x) * channels);
  return data;
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

describe('decodeImage', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-decode-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies EXIF orientation so a rotated JPEG comes out upright', async () => {
    // Stored landscape 40x20, red left half, blue right; orientation 6 = display rotated 90° clockwise,
    // so upright it is portrait 20x40 with red on top.
    const stored = rgbImage(40, 20, (x) => (x < 20 ? RED : BLUE));
    const jpeg = await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const upright = await decodeImage(jpeg);
    expect([upright.width, upright.height]).toEqual([20, 40]);
    expectColour(pixel(upright, 10, 5), RED, 20);
    expectColour(pixel(upright, 10, 35), BLUE, 20);
    const resized = await decodeImage(jpeg, { size: [8, 8] });
    expectColour(pixel(resized, 4, 0), RED, 20);
    expectColour(pixel(resized, 4, 7), BLUE, 20);
  });

  it('turns grayscale into 3 equal channels', async () => {
    const png = await sharp(Buffer.from([0, 64, 128, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(1);
    const image = await decodeImage(png);
    expect(Array.from(image.data)).toEqual([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const rgb = rgbImage(16, 16, () => [200, 30, 40]);
    const cmyk = await sharp(rgb, { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const image = await decodeImage(cmyk);
    expect(image.data.length).toBe(16 * 16 * 3);
    expectColour(pixel(image, 8, 8), [200, 30, 40], 30);
  });

  it('drops alpha like Keras load_img: transparent pixels keep their colour, also when resized', async () => {
    const rgba = rgbImage(8, 4, (x) => (x < 4 ? [255, 0, 0, 0] : [0, 0, 255, 255]), 4);
    const png = await sharp(rgba, { raw: { width: 8, height: 4, channels: 4 } }).png().toBuffer();
    const full = await decodeImage(png);
    expect(pixel(full, 0, 0)).toEqual(RED);
    expect(pixel(full, 7, 3)).toEqual(BLUE);
    const small = await decodeImage(png, { size: [2, 4] });
    expect([small.width, small.height]).toEqual([4, 2]);
    expect(pixel(small, 0, 0)).toEqual(RED);
    expect(pixel(small, 3, 1)).toEqual(BLUE);
  });

  it('reduces 16-bit PNG to 8 bits', async () => {
    const wide = new Uint16Array([65535, 0, 32896, 0, 65535, 257]);
    const png = await sharp(wide, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const image = await decodeImage(png);
    expect(Array.from(image.data)).toEqual([255, 0, 128, 0, 255, 1]);
  });

  it('squashes the whole image by default (fill) and centre-crops with cover', async () => {
    // 30x10: red | green | blue thirds.
    const stripes = rgbImage(30, 10, (x) => (x < 10 ? RED : x < 20 ? GREEN : BLUE));
    const png = await sharp(stripes, { raw: { width: 30, height: 10, channels: 3 } }).png().toBuffer();
    const filled = await decodeImage(png, { size: [6, 6] });
    expect([filled.width, filled.height]).toEqual([6, 6]);
    expectColour(pixel(filled, 0, 3), RED);
    expectColour(pixel(filled, 5, 3), BLUE);
    // Cover keeps only the middle third; nearest so the crop edges do not blend in the neighbours.
    const covered = await decodeImage(png, { size: [6, 6], fit: 'cover', kernel: 'nearest' });
    for (let x = 0; x < 6; x++) expect(pixel(covered, x, 3)).toEqual(GREEN);
  });

  it('decodes BMP through the built-in decoder and resizes it like any image', async () => {
    const rgb = rgbImage(6, 4, (x, y) => (y < 2 ? RED : x < 3 ? GREEN : BLUE));
    const file = path.join(dir, 'small.bmp');
    writeFileSync(file, encodeBmp(rgb, 6, 4, { bitsPerPixel: 24 }));
    const native = await decodeImage(file);
    expect(Array.from(native.data)).toEqual(Array.from(rgb));
    const resized = await decodeImage(file, { size: [2, 2], kernel: 'nearest' });
    expect([pixel(resized, 0, 0), pixel(resized, 0, 1), pixel(resized, 1, 1)]).toEqual([RED, GREEN, BLUE]);
  });

  it('throws ImageDecodeError naming the file for corrupt, truncated, missing and empty input', async () => {
    const garbage = path.join(dir, 'garbage.jpg');
    writeFileSync(garbage, Buffer.from('this is not an image, just text pretending to be one'));
    const jpeg = await sharp(rgbImage(64, 64, (x, y) => [x * 4, y * 4, 128]), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const truncated = path.join(dir, 'truncated.jpg');
    writeFileSync(truncated, jpeg.subarray(0, jpeg.length >> 1));
    const empty = path.join(dir, 'empty.png');
    writeFileSync(empty, Buffer.alloc(0));

    for (const [file, reason] of [
      [garbage, /unsupported image format/],
      [truncated, /premature end/],
      [path.join(dir, 'missing.png'), /cannot read file/],
      [empty, /empty file/],
    ] as const) {
      const error = await decodeImage(file, { size: [8, 8] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageDecodeError);
      expect((error as ImageDecodeError).source).toBe(file);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(reason);
    }
    await expect(decodeImage(Buffer.from('nope'), { sourceName: 'upload #3' })).rejects.toThrow(/cannot decode image upload #3/);
  });

  it('refuses decompression bombs by pixel count before decoding', async () => {
    // A valid small JPEG whose frame header claims 30000x30000 (900 MP): nothing is allocated for pixels.
    const jpeg = Buffer.from(await sharp(rgbImage(16, 16, () => RED), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer());
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    jpeg.writeUInt16BE(30000, sof + 5);
    jpeg.writeUInt16BE(30000, sof + 7);
    await expect(decodeImage(jpeg, { size: [224, 224] })).rejects.toThrow(/30000x30000 pixels, over the limit of 100000000/);
    // The limit is configurable...
    const normal = await sharp(rgbImage(100, 100, () => RED), { raw: { width: 100, height: 100, channels: 3 } }).png().toBuffer();
    await expect(decodeImage(normal, { limitInputPixels: 5000 })).rejects.toThrow(ImageDecodeError);
    expect((await decodeImage(normal, { limitInputPixels: 10_000 })).width).toBe(100);
    // ...and applies to BMP, checked from the header.
    const bmp = encodeBmp(rgbImage(100, 100, () => RED), 100, 100, { bitsPerPixel: 24 });
    await expect(decodeImage(bmp, { limitInputPixels: 5000 })).rejects.toThrow(/100x100 pixels, over the limit/);
  });

  itIf(existsSync(SHARED_IMAGES), `${SHARED_IMAGES} is absent`)('decodes the shared JPEG and BMP test photos to network input', async () => {
    const cat = await decodeImage(path.join(SHARED_IMAGES, 'cat.bmp'));
    expect([cat.width, cat.height]).toEqual([512, 341]);
    for (const name of ['parrot.jpg', 'cat.bmp', 'grace_hopper.bmp']) {
      const image = await decodeImage(path.join(SHARED_IMAGES, name), { size: [224, 224] });
      expect([image.width, image.height, image.data.length]).toEqual([224, 224, 224 * 224 * 3]);
    }
  });
});
