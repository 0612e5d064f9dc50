export { confusionMatrix } from './confusion';
export { classificationReport, formatClassificationReport } from './classification-report';
export type { AveragedMetrics, ClassificationReport, ClassMetrics } from './classification-report';
export { confusionMatrixSvg, escapeXml, svgToPng, trainingCurvesSvg } from './plots';
export type { ConfusionMatrixSvgOptions, EpochCurvePoint, SvgToPngOptions, TrainingCurvesSvgOptions } from './plots';
