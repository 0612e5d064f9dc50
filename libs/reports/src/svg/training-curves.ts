import { element, escapeXml, px, text } from './markup';
import { COLOURS, FONT_FAMILY, FONT_SIZES } from './theme';
import { decimalsFor, linearScale, LinearScale, niceAxis, NiceAxis, niceStep } from './ticks';

/** One epoch as the trainer records it; validation is absent (or null) for runs without one. */
export interface EpochCurvePoint {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number | null;
  valAccuracy?: number | null;
}

export interface TrainingCurvesSvgOptions {
  title: string;
  /** Pixels; defaults 1000 × 440. */
  width?: number;
  height?: number;
}

interface Series {
  name: string;
  colour: string;
  dash?: string;
  points: Array<{ x: number; y: number | null }>;
}

interface Panel {
  subtitle: string;
  yLabel: string;
  series: Series[];
  /** Accuracy in [0, 1] reads best as percentages. */
  percent: boolean;
}

const MARGIN = { outer: 16, top: 104, bottom: 62, left: 72, right: 24 };
/** Past this many epochs markers crowd the line, so only the line is drawn. */
const MAX_MARKED_EPOCHS = 60;

/**
 * Loss and accuracy per epoch, training and validation, side by side: the two-panel plot the
 * tutorial draws with matplotlib after `model.fit`.
 */
export function trainingCurvesSvg(epochs: readonly EpochCurvePoint[], options: TrainingCurvesSvgOptions): string {
  const width = options.width ?? 1000;
  const height = options.height ?? 440;
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch);
  const hasValidation = sorted.some((e) => isNumber(e.valLoss) || isNumber(e.valAccuracy));
  const panels = [
    metricPanel(sorted, 'loss', hasValidation, (e) => e.trainLoss, (e) => e.valLoss),
    metricPanel(sorted, 'accuracy', hasValidation, (e) => e.trainAccuracy, (e) => e.valAccuracy),
  ];

  const markers = sorted.length <= MAX_MARKED_EPOCHS;
  const panelWidth = (width - 2 * MARGIN.outer) / 2;
  const xDomain = epochDomain(sorted.map((e) => e.epoch));
  const body = panels.map((panel, i) => {
    const left = MARGIN.outer + i * panelWidth + MARGIN.left;
    const right = MARGIN.outer + (i + 1) * panelWidth - MARGIN.right;
    return drawPanel(panel, xDomain, { left, right, top: MARGIN.top, bottom: height - MARGIN.bottom }, markers);
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    element('rect', { width, height, fill: COLOURS.background }),
    text(options.title, { x: width / 2, y: 32, 'text-anchor': 'middle', 'font-size': FONT_SIZES.title, 'font-weight': 'bold', fill: COLOURS.text }),
    legend(panels[0].series, width / 2, 62, markers),
    ...body,
    sorted.length === 0 ? text('no epochs recorded', { x: width / 2, y: height / 2, 'text-anchor': 'middle', 'font-size': FONT_SIZES.subtitle, fill: COLOURS.mutedText }) : '',
    '</svg>',
  ].join('\n');
}

type Metric = (e: EpochCurvePoint) => number | null | undefined;

function metricPanel(epochs: EpochCurvePoint[], metric: 'loss' | 'accuracy', hasValidation: boolean, train: Metric, validation: Metric): Panel {
  const series = (name: string, colour: string, value: Metric, dash?: string): Series => ({
    name,
    colour,
    dash,
    points: epochs.map((e) => {
      const y = value(e);
      return { x: e.epoch, y: isNumber(y) ? y : null };
    }),
  });
  const lines = [series('Training', COLOURS.train, train)];
  if (hasValidation) lines.push(series('Validation', COLOURS.validation, validation, '7 4'));
  const panel: Panel = {
    subtitle: `${hasValidation ? 'Training and validation' : 'Training'} ${metric}`,
    yLabel: metric === 'loss' ? 'Loss' : 'Accuracy',
    series: lines,
    percent: false,
  };
  const ys = values(panel);
  panel.percent = metric === 'accuracy' && ys.length > 0 && ys.every((v) => v >= 0 && v <= 1);
  return panel;
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function drawPanel(panel: Panel, xDomain: EpochDomain, box: Box, markers: boolean): string {
  const yAxis = valueAxis(values(panel), panel.percent);
  const x = linearScale(xDomain.domain, [box.left + 8, box.right - 8]);
  const y = linearScale(yAxis.domain, [box.bottom, box.top]);
  const centreX = (box.left + box.right) / 2;
  return element('g', {}, [
    grid(xDomain.ticks, yAxis, x, y, box),
    axes(xDomain.ticks, yAxis, x, y, box, panel.percent),
    text(panel.subtitle, { x: centreX, y: box.top - 12, 'text-anchor': 'middle', 'font-size': FONT_SIZES.subtitle, fill: COLOURS.text }),
    text('Epoch', { x: centreX, y: box.bottom + 46, 'text-anchor': 'middle', 'font-size': FONT_SIZES.axisLabel, fill: COLOURS.text }),
    text(panel.yLabel, {
      x: box.left - 56,
      y: (box.top + box.bottom) / 2,
      'text-anchor': 'middle',
      'font-size': FONT_SIZES.axisLabel,
      fill: COLOURS.text,
      transform: `rotate(-90 ${px(box.left - 56)} ${px((box.top + box.bottom) / 2)})`,
    }),
    ...panel.series.map((s) => line(s, x, y, markers)),
  ]);
}

function grid(xTicks: number[], yAxis: NiceAxis, x: LinearScale, y: LinearScale, box: Box): string {
  const lines = [
    ...yAxis.ticks.map((t) => element('line', { x1: box.left, x2: box.right, y1: y(t), y2: y(t) })),
    ...xTicks.map((t) => element('line', { x1: x(t), x2: x(t), y1: box.top, y2: box.bottom })),
  ];
  return element('g', { stroke: COLOURS.grid, 'stroke-width': 1 }, lines);
}

function axes(xTicks: number[], yAxis: NiceAxis, x: LinearScale, y: LinearScale, box: Box, percent: boolean): string {
  const yDecimals = Math.max(0, decimalsFor(yAxis.step) - (percent ? 2 : 0));
  const yLabel = (t: number) => (percent ? `${(t * 100).toFixed(yDecimals)}%` : t.toFixed(yDecimals));
  const tickStyle = { 'font-size': FONT_SIZES.tick, fill: COLOURS.mutedText };
  return element('g', {}, [
    element('rect', { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top, fill: 'none', stroke: COLOURS.axis, 'stroke-width': 1 }),
    ...yAxis.ticks.map((t) =>
      element('g', {}, [
        element('line', { x1: box.left - 5, x2: box.left, y1: y(t), y2: y(t), stroke: COLOURS.axis }),
        text(yLabel(t), { x: box.left - 8, y: y(t) + 4, 'text-anchor': 'end', ...tickStyle }),
      ]),
    ),
    ...xTicks.map((t) =>
      element('g', {}, [
        element('line', { x1: x(t), x2: x(t), y1: box.bottom, y2: box.bottom + 5, stroke: COLOURS.axis }),
        text(String(t), { x: x(t), y: box.bottom + 19, 'text-anchor': 'middle', ...tickStyle }),
      ]),
    ),
  ]);
}

/** The series as a polyline, broken where a value is missing, with a marker per epoch. */
function line(series: Series, x: LinearScale, y: LinearScale, markers: boolean): string {
  let d = '';
  let penDown = false;
  for (const p of series.points) {
    if (p.y === null) {
      penDown = false;
      continue;
    }
    d += `${penDown ? 'L' : 'M'}${px(x(p.x))} ${px(y(p.y))}`;
    penDown = true;
  }
  const dots = markers
    ? series.points.filter((p) => p.y !== null).map((p) => element('circle', { cx: x(p.x), cy: y(p.y as number), r: 3 }))
    : [];
  return element('g', { fill: series.colour }, [
    d ? element('path', { d, fill: 'none', stroke: series.colour, 'stroke-width': 2, 'stroke-linejoin': 'round', 'stroke-dasharray': series.dash }) : '',
    ...dots,
  ]);
}

function legend(series: Series[], centreX: number, y: number, markers: boolean): string {
  const itemWidth = 130;
  const startX = centreX - (series.length * itemWidth) / 2;
  return element(
    'g',
    {},
    series.map((s, i) => {
      const x = startX + i * itemWidth;
      return element('g', {}, [
        element('line', { x1: x, x2: x + 30, y1: y, y2: y, stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.dash }),
        markers ? element('circle', { cx: x + 15, cy: y, r: 3, fill: s.colour }) : '',
        text(s.name, { x: x + 38, y: y + 4, 'font-size': FONT_SIZES.legend, fill: COLOURS.text }),
      ]);
    }),
  );
}

interface EpochDomain {
  domain: [number, number];
  ticks: number[];
}

/** Whole-number epoch ticks at a round step, plus the first epoch when it is not near one. */
function epochDomain(epochs: number[]): EpochDomain {
  if (epochs.length === 0) return { domain: [0, 1], ticks: [0, 1] };
  const first = epochs[0];
  const last = epochs[epochs.length - 1];
  if (first === last) return { domain: [first - 1, first + 1], ticks: [first] };
  const nice = niceStep(last - first, 6);
  const step = nice < 1 ? 1 : Math.floor(nice); // epochs are whole: 2.5 becomes 2
  const ticks: number[] = [];
  for (let t = Math.ceil(first / step) * step; t <= last; t += step) ticks.push(t);
  if (ticks.length === 0 || ticks[0] - first >= step / 2) ticks.unshift(first);
  return { domain: [first, last], ticks };
}

/**
 * A y axis over the values with a 4% margin, as matplotlib leaves, so extreme points do not sit
 * on the frame; shares stay within 0–100%.
 */
function valueAxis(ys: number[], percent: boolean): NiceAxis {
  if (ys.length === 0) return niceAxis(0, 1, 6);
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const pad = (max - min) * 0.04;
  const low = percent ? Math.max(0, min - pad) : min - pad;
  const high = percent ? Math.min(1, max + pad) : max + pad;
  return niceAxis(low, high, 6);
}

function values(panel: Panel): number[] {
  return panel.series.flatMap((s) => s.points.map((p) => p.y).filter((v): v is number => v !== null));
}

function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
