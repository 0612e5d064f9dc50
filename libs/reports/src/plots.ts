/** The charts of a training report, as standalone SVG documents (strings) and PNG. */
export { trainingCurvesSvg } from './svg/training-curves';
export type { EpochCurvePoint, TrainingCurvesSvgOptions } from './svg/training-curves';
export { confusionMatrixSvg } from './svg/confusion-matrix';
export type { ConfusionMatrixSvgOptions } from './svg/confusion-matrix';
export { escapeXml } from './svg/markup';
export { svgToPng } from './svg-to-png';
export type { SvgToPngOptions } from './svg-to-png';
