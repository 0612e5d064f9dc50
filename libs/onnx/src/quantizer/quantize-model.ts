import { calibrateRanges, type CalibrateOptions, type CalibrationBatch, type TensorRange } from './calibrate';
import { foldBatchNormalizations, foldPadsIntoConvs } from './fold';
import { EditableGraph } from './graph';
import { planQuantization } from './plan';
import { insertQdq } from './qdq';

/** Bumped whenever the quantizer's output for the same model and calibration may change. */
export const QUANTIZER_FORMAT = 'featx-onnx-qdq/1';

export interface QuantizeModelOptions extends CalibrateOptions {
  log?: (line: string) => void;
}

export interface QuantizedModel {
  bytes: Uint8Array;
  /** Nodes that became int8 kernels, by op type (Conv counts depthwise convs too). */
  quantizedOps: Record<string, number>;
  foldedBatchNorms: number;
  foldedPads: number;
  absorbedActivations: number;
  /** The calibrated range of each quantized activation. */
  ranges: Record<string, TensorRange>;
}

/**
 * Static int8 quantization of an fp32 ONNX model in QDQ form: BatchNormalization and zero Pads
 * folded into their Convs; Conv (depthwise too), Gemm, MatMul with int8 weights per output
 * channel; their inputs, outputs (past an absorbed ReLU/ReLU6) and the inputs and outputs of
 * residual Adds as uint8 with ranges calibrated on `batches` (called once per calibration pass).
 */
export async function quantizeOnnxModel(fp32: Uint8Array, batches: () => AsyncIterable<CalibrationBatch>, options: QuantizeModelOptions = {}): Promise<QuantizedModel> {
  const g = new EditableGraph(fp32);
  const foldedBatchNorms = foldBatchNormalizations(g);
  const foldedPads = foldPadsIntoConvs(g);
  const plan = planQuantization(g);
  if (plan.ops.length === 0) throw new Error('ONNX quantizer: the model has no Conv, Gemm, MatMul or Add to quantize');
  options.log?.(
    `quantizing ${plan.ops.length} node(s), ${plan.activations.length} activation(s) to calibrate (${options.method ?? 'minmax'}); ` +
      `folded ${foldedBatchNorms} BatchNormalization(s), ${foldedPads} Pad(s)`,
  );
  const inputs = new Set(g.graph.input!.map((i) => i.name!));
  const ranges = await calibrateRanges(g.encode(plan.activations.filter((t) => !inputs.has(t))), plan.activations, batches, options);
  insertQdq(g, plan, ranges);
  const quantizedOps: Record<string, number> = {};
  for (const op of plan.ops) quantizedOps[op.kind] = (quantizedOps[op.kind] ?? 0) + 1;
  return {
    bytes: g.encode(),
    quantizedOps,
    foldedBatchNorms,
    foldedPads,
    absorbedActivations: plan.ops.filter((op) => op.absorbed).length,
    ranges: Object.fromEntries(ranges),
  };
}

/** Op types of an ONNX model's nodes, counted (e.g. to check which kernels ONNX Runtime's optimised graph uses). */
export function countOpTypes(bytes: Uint8Array): Record<string, number> {
  const g = new EditableGraph(bytes);
  const counts: Record<string, number> = {};
  for (const node of g.nodes) counts[node.opType!] = (counts[node.opType!] ?? 0) + 1;
  return counts;
}
