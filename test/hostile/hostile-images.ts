import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

/** What an image should become: a stored vector, or a failure whose reason matches. */
export type Expectation = { stored: true } | { stored: false; reason: RegExp };

export interface HostileImage {
  /** File name (under its class folder). */
  name: string;
  what: string;
  expect: Expectation;
  write(file: string): Promise<void>;
}

const W = 64;
const H = 32;

/** W x H, left half red, right half blue: its orientation is visible in its pixels. */
export function leftRedRightBlue(): Buffer {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      if (x < W / 2) data[o] = 255;
      else data[o + 2] = 255;
    }
  }
  return data;
}

const raw = () => sharp(leftRedRightBlue(), { raw: { width: W, height: H, channels: 3 } });

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 200-byte PNG whose header claims 50,000 x 50,000 RGB pixels (7.5 GB decoded). */
export function pngBomb(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50000, 0);
  ihdr.writeUInt32BE(50000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = require('node:zlib').deflateSync(Buffer.alloc(1024)) as Buffer;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

export const HOSTILE_IMAGES: HostileImage[] = [
  { name: 'reference.png', what: 'plain 8-bit RGB PNG (control)', expect: { stored: true }, write: (f) => raw().png().toFile(f).then(() => undefined) },
  { name: 'zero-bytes.jpg', what: 'zero-byte file', expect: { stored: false, reason: /empty file/ }, write: (f) => fs.writeFile(f, '') },
  { name: 'text.jpg', what: 'text renamed .jpg', expect: { stored: false, reason: /unsupported image format|unsupported|format/i }, write: (f) => fs.writeFile(f, 'this is text, not a JPEG\n'.repeat(20)) },
  {
    name: 'truncated.jpg',
    what: 'truncated JPEG (first 40% of the bytes)',
    expect: { stored: false, reason: /premature|truncated|corrupt|end of/i },
    write: async (f) => {
      const full = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg().toBuffer();
      await fs.writeFile(f, full.subarray(0, Math.floor(full.length * 0.4)));
    },
  },
  {
    name: 'bad-crc.png',
    what: 'PNG with a bad CRC (IDAT chunk)',
    expect: { stored: false, reason: /crc/i },
    write: async (f) => {
      const png = Buffer.from(await raw().png().toBuffer());
      const idat = png.indexOf(Buffer.from('IDAT'));
      const length = png.readUInt32BE(idat - 4);
      const crcAt = idat + 4 + length;
      png.writeUInt32BE((png.readUInt32BE(crcAt) ^ 0xdeadbeef) >>> 0, crcAt);
      await fs.writeFile(f, png);
    },
  },
  { name: 'bomb-50000x50000.png', what: 'PNG header claiming 50,000 x 50,000 pixels', expect: { stored: false, reason: /50000x50000 pixels, over the limit/ }, write: (f) => fs.writeFile(f, pngBomb()) },
  { name: 'cmyk.jpg', what: 'CMYK JPEG', expect: { stored: true }, write: (f) => raw().toColourspace('cmyk').jpeg().toFile(f).then(() => undefined) },
  { name: 'sixteen-bit.png', what: '16-bit PNG', expect: { stored: true }, write: (f) => raw().toColourspace('rgb16').png().toFile(f).then(() => undefined) },
  { name: 'grayscale.png', what: 'grayscale PNG', expect: { stored: true }, write: (f) => raw().toColourspace('b-w').png().toFile(f).then(() => undefined) },
  { name: 'grayscale.jpg', what: 'grayscale JPEG', expect: { stored: true }, write: (f) => raw().toColourspace('b-w').jpeg().toFile(f).then(() => undefined) },
  {
    name: 'alpha.png',
    what: 'RGBA PNG',
    expect: { stored: true },
    write: (f) => raw().ensureAlpha(0.5).png().toFile(f).then(() => undefined),
  },
  {
    name: 'animated.gif',
    what: 'animated GIF, 3 frames (first taken)',
    expect: { stored: true },
    write: async (f) => {
      const frame = (r: number, g: number, b: number) => sharp({ create: { width: W, height: H, channels: 3, background: { r, g, b } } }).png().toBuffer();
      const frames = await Promise.all([frame(255, 0, 0), frame(0, 255, 0), frame(0, 0, 255)]);
      await sharp(frames, { join: { animated: true } }).gif().toFile(f);
    },
  },
  {
    name: 'exif-orientation-6.jpg',
    what: 'JPEG stored rotated with EXIF orientation 6',
    expect: { stored: true },
    // Stored pixels: the upright image turned 90° anticlockwise (32 x 64, blue on top); orientation 6
    // says "rotate 90° clockwise to display", which brings back left red / right blue.
    write: async (f) => {
      const stored = await raw().rotate(-90).png().toBuffer();
      await sharp(stored).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(f);
    },
  },
  { name: 'name with spaces.jpg', what: 'file name with spaces', expect: { stored: true }, write: (f) => raw().jpeg().toFile(f).then(() => undefined) },
  { name: 'ñoño 日本語 ünïcödé.png', what: 'non-ASCII file name', expect: { stored: true }, write: (f) => raw().png().toFile(f).then(() => undefined) },
];

/** Writes every hostile image into `folder`. */
export async function writeHostileImages(folder: string, images = HOSTILE_IMAGES): Promise<void> {
  await fs.mkdir(folder, { recursive: true });
  for (const image of images) await image.write(path.join(folder, image.name));
}

export const UPRIGHT = { width: W, height: H };
