import type { EpochMetricRow, EvaluationRow, RunRow } from '@featx/db';
import { confusionMatrixSvg, svgToPng, trainingCurvesSvg } from '@featx/reports';

/** The plots of a run, drawn on request from its rows (nothing is stored). */
export const PLOT_FILES = ['curves.svg', 'curves.png', 'confusion.svg', 'confusion.png'] as const;
export type PlotFile = (typeof PLOT_FILES)[number];

export const PLOT_CONTENT_TYPES = { svg: 'image/svg+xml', png: 'image/png' } as const;

/** PNGs are drawn this wide (pixels); the SVGs scale. */
const PNG_WIDTH = 1200;

export interface PlotImage {
  body: Buffer;
  contentType: string;
  fileName: string;
}

/** Loss and accuracy per epoch, training and validation, as the tutorial plots them. */
export function renderCurvesPlot(run: RunRow, epochs: EpochMetricRow[], file: PlotFile): Promise<PlotImage> {
  const svg = trainingCurvesSvg(
    epochs.map((e) => ({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      trainAccuracy: e.trainAccuracy,
      valLoss: e.valLoss,
      valAccuracy: e.valAccuracy,
    })),
    { title: `Training loss and accuracy — run ${run.id.slice(0, 8)}` },
  );
  return encode(svg, run, file);
}

/** The confusion matrix of one evaluation (rows = true class), labelled with the run's classes. */
export function renderConfusionPlot(run: RunRow, evaluation: EvaluationRow, file: PlotFile): Promise<PlotImage> {
  const classes = run.classes.length === evaluation.confusion.length ? run.classes : evaluation.confusion.map((_, i) => String(i));
  const svg = confusionMatrixSvg(evaluation.confusion, classes, { title: `Confusion matrix, ${evaluation.split} split — run ${run.id.slice(0, 8)}` });
  return encode(svg, run, file);
}

async function encode(svg: string, run: RunRow, file: PlotFile): Promise<PlotImage> {
  const fileName = `featx-run-${run.id.slice(0, 8)}-${file}`;
  if (file.endsWith('.svg')) return { body: Buffer.from(svg, 'utf8'), contentType: PLOT_CONTENT_TYPES.svg, fileName };
  return { body: await svgToPng(svg, { width: PNG_WIDTH }), contentType: PLOT_CONTENT_TYPES.png, fileName };
}

