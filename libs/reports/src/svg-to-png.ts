import sharp from 'sharp';

export interface SvgToPngOptions {
  /** Output width in pixels; the height follows the SVG's aspect ratio. Default: the SVG's own width. */
  width?: number;
}

/** librsvg's default resolution: SVG user units map 1:1 to pixels at 72 dpi. */
const BASE_DENSITY = 72;

/**
 * Renders an SVG document to PNG with sharp (libvips → librsvg). To scale, the SVG is rasterised
 * at the target resolution rather than rasterised small and enlarged, so text stays sharp.
 */
export async function svgToPng(svg: string, options: SvgToPngOptions = {}): Promise<Buffer> {
  const input = Buffer.from(svg, 'utf8');
  if (options.width === undefined) return sharp(input).png().toBuffer();
  if (!Number.isInteger(options.width) || options.width < 1) {
    throw new RangeError(`width must be a positive integer, got ${options.width}`);
  }
  const intrinsicWidth = (await sharp(input).metadata()).width;
  const density = intrinsicWidth ? Math.min(100_000, (BASE_DENSITY * options.width) / intrinsicWidth) : BASE_DENSITY;
  return sharp(input, { density }).resize({ width: options.width }).png().toBuffer();
}
