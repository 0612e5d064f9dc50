/**
 * Writes small BMP files for decoder tests (BITMAPINFOHEADER, 40 bytes), from RGB pixels.
 * 8-bit files get a palette of the distinct colours.
 */
export function encodeBmp(rgb: Uint8Array, width: number, height: number, options: { bitsPerPixel: 8 | 24 | 32; topDown?: boolean }): Uint8Array {
  const bpp = options.bitsPerPixel;
  const palette: number[] = [];
  const indexOf = new Map<number, number>();
  if (bpp === 8) {
    for (let i = 0; i < width * height; i++) {
      const key = (rgb[i * 3]! << 16) | (rgb[i * 3 + 1]! << 8) | rgb[i * 3 + 2]!;
      if (!indexOf.has(key)) {
        indexOf.set(key, palette.length);
        palette.push(key);
      }
    }
  }
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const paletteBytes = palette.length * 4;
  const pixelOffset = 14 + 40 + paletteBytes;
  const size = pixelOffset + stride * height;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  view.setUint32(2, size, true);
  view.setUint32(10, pixelOffset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, options.topDown ? -height : height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, bpp, true);
  view.setUint32(30, 0, true); // BI_RGB
  view.setUint32(34, stride * height, true);
  view.setUint32(46, palette.length, true);
  palette.forEach((key, i) => {
    const p = 54 + i * 4;
    out[p] = key & 0xff;
    out[p + 1] = (key >> 8) & 0xff;
    out[p + 2] = (key >> 16) & 0xff;
  });
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (options.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const [r, g, b] = [rgb[s]!, rgb[s + 1]!, rgb[s + 2]!];
      if (bpp === 8) out[row + x] = indexOf.get((r << 16) | (g << 8) | b)!;
      else {
        const p = row + x * (bpp / 8);
        out[p] = b;
        out[p + 1] = g;
        out[p + 2] = r;
        if (bpp === 32) out[p + 3] = 0; // unused byte, often 0: must not be read as transparency
      }
    }
  }
  return out;
}
