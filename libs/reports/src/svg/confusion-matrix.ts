import { element, escapeXml, px, text } from './markup';
import { blues, bluesStops, contrastingText } from './colour-map';
import { COLOURS, estimateTextWidth, FONT_FAMILY, FONT_SIZES } from './theme';
import { niceAxis } from './ticks';

export interface ConfusionMatrixSvgOptions {
  title: string;
  /**
   * Colour and label each cell by its share of the true class (rows sum to 100%), as sklearn's
   * `normalize="true"`; counts stay visible below the percentage. Default: raw counts.
   */
  normalize?: boolean;
}

const OUTER = 20;
const GAP = 10;
const LABEL_FONT = 13;
const COLOUR_BAR_WIDTH = 18;
/** Cell size (px) under which empty cells are left blank: from about 15 classes up. */
const HIDE_ZEROS_BELOW = 40;

/**
 * The confusion matrix as a heat map: true class down the side, predicted class along the
 * bottom, the count (or share) written in each cell in a colour that stands out from it, and a
 * colour scale to the right.
 */
export function confusionMatrixSvg(confusion: readonly (readonly number[])[], classNames: readonly string[], options: ConfusionMatrixSvgOptions): string {
  const n = classNames.length;
  checkShape(confusion, n);
  const normalize = options.normalize ?? false;
  const rowTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const maxCount = Math.max(1, ...confusion.flat());
  const intensity = (t: number, p: number) => (normalize ? share(confusion[t][p], rowTotals[t]) : confusion[t][p] / maxCount);

  const cell = Math.max(28, Math.min(120, Math.floor(600 / n)));
  const labelFont = Math.min(LABEL_FONT, Math.max(9, Math.floor(cell * 0.45)));
  const longestLabel = Math.max(...classNames.map((name) => estimateTextWidth(name, labelFont)));
  const rotateX = longestLabel > cell - 6;
  const xLabelsHeight = rotateX ? longestLabel * Math.SQRT1_2 + labelFont : labelFont + 4;

  const subtitle = normalize ? 'share of each true class (rows sum to 100%)' : 'number of samples';
  const gridLeft = OUTER + FONT_SIZES.axisLabel + GAP + longestLabel + GAP;
  const gridTop = 76;
  const gridSize = n * cell;
  const gridRight = gridLeft + gridSize;
  const gridBottom = gridTop + gridSize;
  const barLeft = gridRight + 28;
  const barTicks = colourBarTicks(normalize, maxCount);
  const barTickWidth = Math.max(...barTicks.map((t) => estimateTextWidth(t.label, FONT_SIZES.tick)));
  const contentWidth = barLeft + COLOUR_BAR_WIDTH + 8 + barTickWidth + OUTER;
  const titleWidth = estimateTextWidth(options.title, FONT_SIZES.title) * 1.2; // bold runs wider
  const width = Math.ceil(Math.max(contentWidth, titleWidth + 2 * OUTER));
  const height = Math.ceil(gridBottom + GAP + xLabelsHeight + GAP + FONT_SIZES.axisLabel + OUTER);
  // A title wider than the chart widens the canvas; the chart then sits in the middle of it.
  const shiftX = (width - contentWidth) / 2;
  // Centre the title on the grid when it fits there, as matplotlib does over the axes.
  const gridCentre = shiftX + gridLeft + gridSize / 2;
  const titleX = titleWidth < 2 * Math.min(gridCentre, width - gridCentre) ? gridCentre : width / 2;

  const cells: string[] = [];
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      cells.push(drawCell(confusion[t][p], rowTotals[t], intensity(t, p), normalize, gridLeft + p * cell, gridTop + t * cell, cell));
    }
  }

  const yLabels = classNames.map((name, t) =>
    text(name, { x: gridLeft - GAP, y: gridTop + (t + 0.5) * cell + labelFont * 0.35, 'text-anchor': 'end', 'font-size': labelFont, fill: COLOURS.text }),
  );
  const xLabels = classNames.map((name, p) => {
    const x = gridLeft + (p + 0.5) * cell;
    if (!rotateX) return text(name, { x, y: gridBottom + GAP + labelFont, 'text-anchor': 'middle', 'font-size': labelFont, fill: COLOURS.text });
    const y = gridBottom + GAP;
    // Anchored at its end under the column and turned 45°, so the label reads up to its column;
    // the baseline sits a third of the font below the anchor so the glyphs' middle points at it.
    return text(name, { x, y: y + labelFont * 0.35, 'text-anchor': 'end', 'font-size': labelFont, fill: COLOURS.text, transform: `rotate(-45 ${px(x)} ${px(y)})` });
  });

  const chart = [
    element('g', {}, cells),
    element('rect', { x: gridLeft, y: gridTop, width: gridSize, height: gridSize, fill: 'none', stroke: COLOURS.axis, 'stroke-width': 1 }),
    element('g', {}, yLabels),
    element('g', {}, xLabels),
    text('True label', {
      x: OUTER + FONT_SIZES.axisLabel,
      y: gridTop + gridSize / 2,
      'text-anchor': 'middle',
      'font-size': FONT_SIZES.axisLabel,
      'font-weight': 'bold',
      fill: COLOURS.text,
      transform: `rotate(-90 ${px(OUTER + FONT_SIZES.axisLabel)} ${px(gridTop + gridSize / 2)})`,
    }),
    text('Predicted label', { x: gridLeft + gridSize / 2, y: height - OUTER, 'text-anchor': 'middle', 'font-size': FONT_SIZES.axisLabel, 'font-weight': 'bold', fill: COLOURS.text }),
    colourBar(barLeft, gridTop, gridSize, barTicks),
  ];

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    colourBarGradient(),
    element('rect', { width, height, fill: COLOURS.background }),
    text(options.title, { x: titleX, y: 32, 'text-anchor': 'middle', 'font-size': FONT_SIZES.title, 'font-weight': 'bold', fill: COLOURS.text }),
    text(subtitle, { x: titleX, y: 54, 'text-anchor': 'middle', 'font-size': FONT_SIZES.legend, fill: COLOURS.mutedText }),
    element('g', { transform: shiftX > 0 ? `translate(${px(shiftX)} 0)` : undefined }, chart),
    '</svg>',
  ].join('\n');
}

function drawCell(count: number, rowTotal: number, t: number, normalize: boolean, x: number, y: number, size: number): string {
  const fill = blues(t);
  const ink = count === 0 ? '#9aa5b1' : contrastingText(t); // zeros recede so the errors stand out
  const parts = [element('rect', { x, y, width: size, height: size, fill, stroke: '#ffffff', 'stroke-width': 1 })];
  // In a dense matrix a zero in every empty cell is noise; the colour already says "none".
  if (count === 0 && size < HIDE_ZEROS_BELOW) return element('g', {}, parts);
  const valueFont = Math.max(9, Math.min(20, Math.round(size * 0.27)));
  const centreX = x + size / 2;
  if (!normalize) {
    parts.push(text(String(count), { x: centreX, y: y + size / 2 + valueFont * 0.35, 'text-anchor': 'middle', 'font-size': valueFont, fill: ink }));
  } else {
    const showCount = size >= 44 && count > 0;
    const mainY = y + size / 2 + valueFont * 0.35 - (showCount ? valueFont * 0.45 : 0);
    parts.push(text(percentLabel(share(count, rowTotal)), { x: centreX, y: mainY, 'text-anchor': 'middle', 'font-size': valueFont, fill: ink }));
    if (showCount) {
      const countFont = Math.max(8, valueFont - 4);
      parts.push(text(`(${count})`, { x: centreX, y: mainY + countFont + 3, 'text-anchor': 'middle', 'font-size': countFont, fill: ink, 'fill-opacity': 0.85 }));
    }
  }
  return element('g', {}, parts);
}

interface BarTick {
  /** Position along the bar, 0 = bottom, 1 = top. */
  at: number;
  label: string;
}

function colourBarTicks(normalize: boolean, maxCount: number): BarTick[] {
  if (normalize) return [0, 0.2, 0.4, 0.6, 0.8, 1].map((at) => ({ at, label: `${Math.round(at * 100)}%` }));
  const ticks = niceAxis(0, maxCount, 5).ticks.filter((t) => t <= maxCount);
  return ticks.map((t) => ({ at: t / maxCount, label: String(t) }));
}

const GRADIENT_ID = 'featx-blues';

function colourBarGradient(): string {
  const stops = bluesStops().map(([offset, colour]) => element('stop', { offset, 'stop-color': colour }));
  // Drawn bottom (0) to top (1), like matplotlib's vertical colour bar.
  return element('defs', {}, element('linearGradient', { id: GRADIENT_ID, x1: 0, y1: 1, x2: 0, y2: 0 }, stops));
}

function colourBar(left: number, top: number, height: number, ticks: BarTick[]): string {
  const y = (at: number) => top + height * (1 - at);
  return element('g', {}, [
    element('rect', { x: left, y: top, width: COLOUR_BAR_WIDTH, height, fill: `url(#${GRADIENT_ID})`, stroke: COLOURS.axis, 'stroke-width': 1 }),
    ...ticks.map((tick) =>
      element('g', {}, [
        element('line', { x1: left + COLOUR_BAR_WIDTH, x2: left + COLOUR_BAR_WIDTH + 4, y1: y(tick.at), y2: y(tick.at), stroke: COLOURS.axis }),
        text(tick.label, { x: left + COLOUR_BAR_WIDTH + 7, y: y(tick.at) + 4, 'font-size': FONT_SIZES.tick, fill: COLOURS.mutedText }),
      ]),
    ),
  ]);
}

function share(count: number, total: number): number {
  return total === 0 ? 0 : count / total;
}

/** Whole percentages; a non-zero share that would round to 0 shows as "<1%". */
function percentLabel(fraction: number): string {
  if (fraction > 0 && fraction < 0.005) return '<1%';
  return `${Math.round(fraction * 100)}%`;
}

function checkShape(confusion: readonly (readonly number[])[], n: number): void {
  if (n === 0) throw new RangeError('confusionMatrixSvg needs at least one class name');
  if (confusion.length !== n || confusion.some((row) => row.length !== n)) {
    throw new RangeError(`confusion must be ${n} × ${n} to match the class names`);
  }
  if (confusion.some((row) => row.some((count) => !Number.isFinite(count) || count < 0))) {
    throw new RangeError('confusion counts must be finite and non-negative');
  }
}
