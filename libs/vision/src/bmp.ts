/**
 * A small Windows BMP decoder. sharp (libvips) does not read BMP, and ImageNet-style sample sets
 * often ship as .bmp, so we decode them here and hand raw RGB pixels to sharp for resizing.
 *
 * Supported: BITMAPCOREHEADER and BITMAPINFOHEADER..V5 headers; 1/4/8-bit palette, 16/32-bit
 * (BI_RGB or BI_BITFIELDS masks), 24-bit; bottom-up (positive height) and top-down (negative).
 * Not supported: RLE4/RLE8, embedded JPEG/PNG. A 32-bit alpha channel is dropped, as Keras'
 * load_img does when it converts to RGB.
 */

/** Uncompressed interleaved pixels. */
export interface RawRgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  headerSize: number;
}

// Module-level alias: hot loops should not look up the global Math (slow inside jest's vm context).
const round = Math.round;

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG' };

/** True when the bytes start with the 'BM' signature. */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** Reads just the header (cheap), e.g. to check the pixel count before decoding. */
export function readBmpHeader(bytes: Uint8Array): BmpHeader {
  if (!isBmp(bytes)) throw new Error('not a BMP file (no BM signature)');
  if (bytes.length < 26) throw new Error('BMP file truncated inside its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit dimensions, no compression field.
    return {
      width: view.getUint16(18, true),
      height: view.getUint16(20, true),
      topDown: false,
      bitsPerPixel: view.getUint16(24, true),
      compression: BI_RGB,
      pixelOffset,
      headerSize,
    };
  }
  if (headerSize < 40) throw new Error(`unsupported BMP header size ${headerSize}`);
  if (bytes.length < 14 + headerSize) throw new Error('BMP file truncated inside its header');
  const rawHeight = view.getInt32(22, true);
  return {
    width: view.getInt32(18, true),
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel: view.getUint16(28, true),
    compression: view.getUint32(30, true),
    pixelOffset,
    headerSize,
  };
}

/** Decodes a BMP to RGB. Throws an Error with a specific reason on anything unsupported or truncated. */
export function decodeBmp(bytes: Uint8Array): RawRgbImage {
  const header = readBmpHeader(bytes);
  const { width, height, bitsPerPixel: bpp, compression, pixelOffset } = header;
  if (width <= 0 || height <= 0) throw new Error(`invalid BMP dimensions ${width}x${height}`);
  if (COMPRESSION_NAMES[compression]) throw new Error(`BMP compression ${COMPRESSION_NAMES[compression]} is not supported`);
  if (![BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    throw new Error(`unknown BMP compression ${compression}`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`unsupported BMP bit depth ${bpp}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Rows are padded to 4 bytes.
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) {
    throw new Error(`BMP pixel data truncated (needs ${pixelOffset + stride * height} bytes, file has ${bytes.length})`);
  }

  const out = new Uint8Array(width * height * 3);
  const readPixelRow = rowReader(bytes, view, header);
  for (let y = 0; y < height; y++) {
    const fileRow = header.topDown ? y : height - 1 - y;
    readPixelRow(pixelOffset + fileRow * stride, out, y * width * 3);
  }
  return { data: out, width, height, channels: 3 };
}

type RowReader = (rowStart: number, out: Uint8Array, outStart: number) => void;

function rowReader(bytes: Uint8Array, view: DataView, header: BmpHeader): RowReader {
  const { width, bitsPerPixel: bpp } = header;
  if (bpp === 24) {
    return (row, out, o) => {
      for (let x = 0; x < width; x++) {
        const i = row + x * 3;
        out[o++] = bytes[i + 2]!;
        out[o++] = bytes[i + 1]!;
        out[o++] = bytes[i]!;
      }
    };
  }
  if (bpp <= 8) {
    const palette = readPalette(bytes, view, header);
    const perByte = 8 / bpp;
    const mask = (1 << bpp) - 1;
    return (row, out, o) => {
      for (let x = 0; x < width; x++) {
        const byte = bytes[row + ((x / perByte) | 0)]!;
        const shift = 8 - bpp * ((x % perByte) + 1);
        const index = (byte >> shift) & mask;
        if (index >= palette.length / 3) throw new Error(`BMP palette index ${index} out of range`);
        out[o++] = palette[index * 3]!;
        out[o++] = palette[index * 3 + 1]!;
        out[o++] = palette[index * 3 + 2]!;
      }
    };
  }
  // 16 and 32 bits: channel masks (defaults when BI_RGB).
  const masks = readMasks(view, header);
  const channels = masks.map(channelExtractor);
  const bytesPerPixel = bpp / 8;
  return (row, out, o) => {
    for (let x = 0; x < width; x++) {
      const offset = row + x * bytesPerPixel;
      const value = bpp === 32 ? view.getUint32(offset, true) : view.getUint16(offset, true);
      out[o++] = channels[0]!(value);
      out[o++] = channels[1]!(value);
      out[o++] = channels[2]!(value);
    }
  };
}

function readPalette(bytes: Uint8Array, view: DataView, header: BmpHeader): Uint8Array {
  const entrySize = header.headerSize === 12 ? 3 : 4;
  const declared = header.headerSize >= 40 ? view.getUint32(46, true) : 0;
  const count = declared > 0 ? declared : 1 << header.bitsPerPixel;
  const start = 14 + header.headerSize + (header.compression === BI_BITFIELDS && header.headerSize === 40 ? 12 : 0);
  if (start + count * entrySize > bytes.length) throw new Error('BMP palette truncated');
  const rgb = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    const p = start + i * entrySize; // stored as B, G, R(, reserved)
    rgb[i * 3] = bytes[p + 2]!;
    rgb[i * 3 + 1] = bytes[p + 1]!;
    rgb[i * 3 + 2] = bytes[p]!;
  }
  return rgb;
}

function readMasks(view: DataView, header: BmpHeader): [number, number, number] {
  if (header.compression === BI_RGB) {
    return header.bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f] : [0x00ff0000, 0x0000ff00, 0x000000ff];
  }
  // BITMAPINFOHEADER keeps the masks right after the header; V2+ headers contain them at offset 40.
  const at = 14 + 40;
  if (view.byteLength < at + 12) throw new Error('BMP bit masks truncated');
  return [view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true)];
}

/** Extracts a masked channel and scales it to 0..255. */
function channelExtractor(mask: number): (value: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  const max = 2 ** bits - 1;
  return (value) => round((((value & mask) >>> shift) * 255) / max);
}
