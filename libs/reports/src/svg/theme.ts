/** Shared look of the charts, close to matplotlib's defaults so they read like the tutorial's plots. */

/** librsvg picks the first family fontconfig has; DejaVu Sans is matplotlib's own default. */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

export const COLOURS = {
  background: '#ffffff',
  text: '#222222',
  mutedText: '#555555',
  axis: '#444444',
  grid: '#e6e6e6',
  /** matplotlib's tab:blue and tab:orange, the default first two line colours. */
  train: '#1f77b4',
  validation: '#ff7f0e',
} as const;

export const FONT_SIZES = { title: 18, subtitle: 14, axisLabel: 13, tick: 11, legend: 12 } as const;

/**
 * Rough width of `content` in DejaVu Sans at `fontSize` px, for laying out margins (SVG has no
 * text measurement before rendering). DejaVu's average advance is about 0.6 em; wide letters
 * and capitals are counted wider so long labels are not clipped.
 */
export function estimateTextWidth(content: string, fontSize: number): number {
  let ems = 0;
  for (const ch of content) {
    if (/[mwMW@%]/.test(ch)) ems += 0.9;
    else if (/[A-Z]/.test(ch)) ems += 0.72;
    else if (/[ijlt.,:;'|!1 ]/.test(ch)) ems += 0.36;
    else ems += 0.62;
  }
  return ems * fontSize;
}
