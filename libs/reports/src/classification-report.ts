import { confusionMatrix } from './confusion';
import { numpyMean, numpyWeightedAverage } from './numpy-sum';
import { formatFixed, padStartPython } from './python-format';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Samples whose true class this is. */
  support: number;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** All samples. */
  support: number;
}

export interface ClassificationReport {
  perClass: ClassMetrics[];
  accuracy: number;
  /** Unweighted mean over classes, classes without support included (as sklearn does). */
  macroAvg: AveragedMetrics;
  /** Mean over classes weighted by support. */
  weightedAvg: AveragedMetrics;
  /** Rows = true class, columns = predicted, in `classNames` order. */
  confusion: number[][];
}

/**
 * `sklearn.metrics.classification_report(truth, predicted, labels=range(n), target_names=classNames,
 * output_dict=True)`. Labels are indices into `classNames`. Where a ratio has a zero denominator
 * (a class never predicted: precision; a class without support: recall; neither: F1) it is 0,
 * sklearn's default `zero_division="warn"`. F1 is 2·tp / (support + predicted), sklearn ≥ 1.4's
 * form, equal to 2PR/(P+R) with one rounding instead of several.
 */
export function classificationReport(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: readonly string[],
): ClassificationReport {
  const confusion = confusionMatrix(truth, predicted, classNames.length);
  const supports = confusion.map((row) => sum(row));
  const predictions = classNames.map((_, p) => sum(confusion.map((row) => row[p])));
  const perClass = classNames.map((label, c): ClassMetrics => {
    const truePositives = confusion[c][c];
    return {
      label,
      precision: ratio(truePositives, predictions[c]),
      recall: ratio(truePositives, supports[c]),
      f1: ratio(2 * truePositives, supports[c] + predictions[c]),
      support: supports[c],
    };
  });

  const total = truth.length;
  const correct = sum(confusion.map((row, c) => row[c]));
  const precisions = perClass.map((m) => m.precision);
  const recalls = perClass.map((m) => m.recall);
  const f1s = perClass.map((m) => m.f1);
  return {
    perClass,
    accuracy: ratio(correct, total),
    macroAvg: { precision: numpyMean(precisions), recall: numpyMean(recalls), f1: numpyMean(f1s), support: total },
    weightedAvg:
      total === 0
        ? { precision: 0, recall: 0, f1: 0, support: 0 }
        : {
            precision: numpyWeightedAverage(precisions, supports),
            recall: numpyWeightedAverage(recalls, supports),
            f1: numpyWeightedAverage(f1s, supports),
            support: total,
          },
    confusion,
  };
}

/**
 * The report as text, byte for byte what `print(classification_report(...), end='')` shows: a
 * header, one row per class, then the accuracy row (f1-score and support columns only), macro and
 * weighted averages. Like sklearn with `labels=range(n)`, when some class is neither true nor
 * predicted anywhere the accuracy row becomes a full "micro avg" row.
 */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  if (!Number.isInteger(digits) || digits < 0) throw new RangeError(`digits must be a non-negative integer, got ${digits}`);
  const lastHeading = 'weighted avg';
  const width = Math.max(...report.perClass.map((m) => [...m.label].length), lastHeading.length, digits);
  const cell = (text: string) => ` ${padStartPython(text, 9)}`;
  const number = (x: number) => cell(formatFixed(x, digits));
  // sklearn's counts turn float (printed "12.0") when no sample at all is classified correctly:
  // its true-positive tally then starts as np.zeros instead of np.bincount.
  const countsAreFloats = report.perClass.every((m, c) => report.confusion[c][c] === 0);
  const count = (n: number) => cell(countsAreFloats ? `${n}.0` : String(n));
  const row = (heading: string, m: { precision: number; recall: number; f1: number; support: number }) =>
    `${padStartPython(heading, width)} ${number(m.precision)}${number(m.recall)}${number(m.f1)}${count(m.support)}\n`;

  let text = `${' '.repeat(width)} ${['precision', 'recall', 'f1-score', 'support'].map(cell).join('')}\n\n`;
  for (const m of report.perClass) text += row(m.label, m);
  text += '\n';
  const total = report.macroAvg.support;
  if (everyClassOccurs(report.confusion)) {
    text += `${padStartPython('accuracy', width)} ${cell('')}${cell('')}${number(report.accuracy)}${count(total)}\n`;
  } else {
    const a = report.accuracy; // micro precision = micro recall = micro F1 = accuracy for single-label data
    text += row('micro avg', { precision: a, recall: a, f1: a, support: total });
  }
  text += row('macro avg', report.macroAvg);
  text += row(lastHeading, report.weightedAvg);
  return text;
}

/** sklearn prints "accuracy" only when the labels are exactly those seen in truth or predictions. */
function everyClassOccurs(confusion: number[][]): boolean {
  return confusion.every((row, c) => sum(row) > 0 || confusion.some((other) => other[c] > 0));
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
