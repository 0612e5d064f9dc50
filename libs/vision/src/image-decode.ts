import { readFile } from 'node:fs/promises';
import sharp, { type ResizeOptions } from 'sharp';
import { decodeBmp, isBmp, readBmpHeader, type RawRgbImage } from './bmp';
import { ImageDecodeError } from './errors';

/** 8-bit RGB pixels, row-major HWC (height x width x 3). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * How the image is brought to the network's input size.
 * - `fill`: squash the whole image to the size, ignoring aspect ratio. Keras' `load_img(target_size=...)`
 *   does this, and so does the tutorial, so it is the default.
 * - `cover`: scale the short side to the size and crop the centre (torchvision-style centre crop).
 */
export type ResizeFit = 'fill' | 'cover';

/** sharp's resampling kernels that make sense here. */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

export const DEFAULT_LIMIT_INPUT_PIXELS = 100_000_000;

export interface DecodeImageOptions {
  /** Output size [height, width]; omitted = keep the image's own size. */
  size?: readonly [number, number];
  fit?: ResizeFit;
  /**
   * Default 'linear' (bilinear, antialiased when shrinking like PIL's BILINEAR). Keras' load_img
   * defaults to 'nearest', which aliases badly when shrinking photos; pass 'nearest' to mimic it.
   */
  kernel?: ResizeKernel;
  /** Refuse images with more pixels than this (decompression bombs). Default 100 megapixels. */
  limitInputPixels?: number;
  /** sharp's strictness on damaged pixel data; default 'warning' (strictest) so bad files surface. */
  failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /** Name used in errors when the input is a buffer. */
  sourceName?: string;
}

/**
 * One path from a file or its bytes to network input pixels:
 * decode (any format sharp reads, plus BMP) → EXIF orientation → sRGB, 3 channels, alpha dropped →
 * resize. Alpha is dropped rather than composited because Keras' load_img converts RGBA to RGB that
 * way (PIL's convert('RGB') discards the channel), so transparent pixels keep their stored colour.
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  const source = typeof input === 'string' ? input : (options.sourceName ?? '<buffer>');
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? await readFile(input) : input;
  } catch (error) {
    throw new ImageDecodeError(source, `cannot read file (${messageOf(error)})`, { cause: error });
  }
  if (bytes.length === 0) throw new ImageDecodeError(source, 'empty file');

  try {
    if (isBmp(bytes)) return await resizeRaw(decodeBmpWithinLimit(bytes, limit), options);
    return await decodeWithSharp(bytes, limit, options);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw new ImageDecodeError(source, messageOf(error), { cause: error });
  }
}

/**
 * Width and height from a baseline/progressive JPEG's SOFn segment, or undefined when the bytes are
 * not a JPEG or the header cannot be walked (sharp then reads it, and reports any error).
 */
function jpegFrameSize(bytes: Uint8Array): { width: number; height: number; hasAlpha: false } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      return width > 0 && height > 0 ? { width, height, hasAlpha: false } : undefined;
    }
    if (marker === 0xda || length < 2) return undefined; // scan data before any frame header
    at += 2 + length;
  }
  return undefined;
}

function decodeBmpWithinLimit(bytes: Uint8Array, limit: number): RawRgbImage {
  const { width, height } = readBmpHeader(bytes);
  if (limit > 0 && Math.abs(width) * height > limit) {
    throw new Error(`image is ${width}x${height} pixels, over the limit of ${limit} (limitInputPixels)`);
  }
  return decodeBmp(bytes);
}

async function decodeWithSharp(bytes: Uint8Array, limit: number, options: DecodeImageOptions): Promise<DecodedImage> {
  const open = () => sharp(bytes, { limitInputPixels: limit > 0 ? limit : false, failOn: options.failOn ?? 'warning' });
  // Header only: tells whether alpha needs the two-step path, and lets us name the size of a bomb
  // (sharp's own limit, still enforced when decoding, only says "exceeds pixel limit"). A JPEG's
  // frame header is read here (no alpha in JPEG): sharp's metadata() costs ~8% of a decode.
  const metadata = jpegFrameSize(bytes) ?? (await sharp(bytes, { limitInputPixels: false, failOn: options.failOn ?? 'warning' }).metadata());
  if (limit > 0 && (metadata.width ?? 0) * (metadata.height ?? 0) > limit) {
    throw new Error(`image is ${metadata.width}x${metadata.height} pixels, over the limit of ${limit} (limitInputPixels)`);
  }
  if (metadata.hasAlpha) {
    // sharp premultiplies alpha before resizing, which blackens transparent pixels; dropping alpha
    // at full size first keeps the Keras behaviour. Costs JPEG shrink-on-load, but JPEGs have no alpha.
    const { data, info } = await open().rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return resizeRaw(asRgb(data, info.width, info.height, info.channels), options);
  }
  // One pass straight from the encoded bytes so sharp can shrink JPEGs while decoding.
  let pipeline = open().rotate().toColourspace('srgb');
  if (options.size) pipeline = pipeline.resize(resizeOptions(options.size, options));
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return toDecoded(asRgb(data, info.width, info.height, info.channels));
}

async function resizeRaw(image: RawRgbImage, options: DecodeImageOptions): Promise<DecodedImage> {
  const size = options.size;
  if (!size || (size[0] === image.height && size[1] === image.width)) return toDecoded(image);
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
    limitInputPixels: false, // already checked against the real limit
  })
    .resize(resizeOptions(size, options))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return toDecoded(asRgb(data, info.width, info.height, info.channels));
}

function resizeOptions(size: readonly [number, number], options: DecodeImageOptions): ResizeOptions {
  const [height, width] = size;
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new Error(`invalid target size ${height}x${width}`);
  }
  return { width, height, fit: options.fit ?? 'fill', kernel: options.kernel ?? 'linear', position: 'centre' };
}

function asRgb(data: Uint8Array, width: number, height: number, channels: number): RawRgbImage {
  if (channels !== 3 || data.length !== width * height * 3) {
    throw new Error(`expected 3-channel 8-bit pixels, got ${channels} channel(s), ${data.length} bytes for ${width}x${height}`);
  }
  return { data, width, height, channels: 3 };
}

function toDecoded(image: RawRgbImage): DecodedImage {
  // A plain Uint8Array view (not a Buffer) so consumers see one type.
  const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return { data, width: image.width, height: image.height };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
