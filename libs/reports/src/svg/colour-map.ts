/** Sequential colour map for heat maps: ColorBrewer "Blues", matplotlib's `Blues`. */

const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
const STOPS = BLUES.map(hexToRgb);

type Rgb = [number, number, number];

/** Colour for `t` in [0, 1] (clamped), interpolated between the map's stops. */
export function bluesRgb(t: number): Rgb {
  const clamped = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const position = clamped * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(position));
  const f = position - i;
  return [0, 1, 2].map((k) => Math.round(STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f)) as Rgb;
}

export function blues(t: number): string {
  return rgbToHex(bluesRgb(t));
}

/** The map's stops as `[offset, colour]`, for an SVG gradient. */
export function bluesStops(): Array<[number, string]> {
  return BLUES.map((colour, i) => [i / (BLUES.length - 1), colour]);
}

/** Dark text on light cells, white on dark ones, by relative luminance (WCAG). */
export function contrastingText(t: number): string {
  return relativeLuminance(bluesRgb(t)) > 0.36 ? '#1a1a1a' : '#ffffff';
}

function relativeLuminance([r, g, b]: Rgb): number {
  const linear = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function hexToRgb(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbToHex(rgb: Rgb): string {
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
