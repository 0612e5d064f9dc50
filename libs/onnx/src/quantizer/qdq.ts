import type { onnx } from 'onnx-proto';
import type { TensorRange } from './calibrate';
import { EditableGraph, intAttr } from './graph';
import type { QuantizationPlan, QuantizedOp } from './plan';

export interface ActivationQuantization {
  scale: number;
  /** uint8 zero point. */
  zeroPoint: number;
}

/** uint8, asymmetric: [min, max] (holding 0) onto 0..255 with 0.0 exact. */
export function activationQuantization({ min, max }: TensorRange): ActivationQuantization {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale: Math.fround(scale), zeroPoint };
}

/** int8, symmetric per slice of `axis` (the output channels): scale = max|w| / 127, zero point 0. */
export function quantizeWeightsPerChannel(data: Float32Array, dims: number[], axis: number): { values: Int8Array; scales: Float32Array } {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scales = new Float32Array(channels);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(data[i]!);
    if (a > maxAbs[c]!) maxAbs[c] = a;
  }
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c]! > 0 ? maxAbs[c]! / 127 : 1;
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scales[channelOf(i)]!)));
  return { values, scales };
}

/**
 * Rewrites the graph into QDQ form: each planned activation gets one QuantizeLinear and a
 * DequantizeLinear that every reader takes instead; weights become int8 constants behind a
 * per-channel DequantizeLinear, biases int32 at scale (input scale × weight scale), and absorbed
 * ReLUs are dropped. ONNX Runtime's graph optimiser turns each DQ → op → Q group into its int8 kernel.
 */
export function insertQdq(g: EditableGraph, plan: QuantizationPlan, ranges: Map<string, TensorRange>): void {
  if (g.opset < 13) throw new Error(`ONNX quantizer needs opset 13 or later (per-channel DequantizeLinear), the model has ${g.opset}`);
  const quantization = new Map<string, ActivationQuantization>();
  for (const t of plan.activations) {
    const range = ranges.get(t);
    if (!range) throw new Error(`ONNX quantizer: no calibrated range for tensor '${t}'`);
    quantization.set(t, activationQuantization(range));
  }

  // Absorbed activations go first: the op then writes the activation's output tensor itself.
  const removed = new Set<onnx.INodeProto>();
  for (const op of plan.ops) {
    if (!op.absorbed) continue;
    op.node.output = [op.output];
    removed.add(op.absorbed);
  }
  let nodes = g.nodes.filter((n) => !removed.has(n));

  const added = new Map<onnx.INodeProto, onnx.INodeProto[]>(); // nodes to put before a node
  const before = (node: onnx.INodeProto, ...extra: onnx.INodeProto[]) => added.set(node, [...(added.get(node) ?? []), ...extra]);
  for (const op of plan.ops) quantizeWeights(g, op, quantization, (...extra) => before(op.node, ...extra));

  // One Q per activation right after its producer (or at the top for graph inputs); one DQ read by all.
  const producers = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const after = new Map<onnx.INodeProto | undefined, onnx.INodeProto[]>();
  const renamed = new Map<string, string>();
  for (const t of plan.activations) {
    const { scale, zeroPoint } = quantization.get(t)!;
    const s = g.addConstant(g.uniqueName(`${t}_scale`), 'float', Float32Array.of(scale), []);
    const z = g.addConstant(g.uniqueName(`${t}_zero_point`), 'uint8', Uint8Array.of(zeroPoint), []);
    const q = g.uniqueName(`${t}_quantized`);
    const dq = g.uniqueName(`${t}_dequantized`);
    const pair = [g.node('QuantizeLinear', [t, s, z], [q]), g.node('DequantizeLinear', [q, s, z], [dq])];
    const producer = producers.get(t);
    after.set(producer, [...(after.get(producer) ?? []), ...pair]);
    renamed.set(t, dq);
  }
  for (const node of nodes) node.input = (node.input ?? []).map((i) => renamed.get(i) ?? i);

  nodes = [
    ...(after.get(undefined) ?? []),
    ...nodes.flatMap((n) => [...(added.get(n) ?? []), n, ...(after.get(n) ?? [])]),
  ];
  g.nodes = nodes;
  g.reindex();
}

function quantizeWeights(g: EditableGraph, op: QuantizedOp, quantization: Map<string, ActivationQuantization>, emit: (...nodes: onnx.INodeProto[]) => void): void {
  if (op.kind === 'Add') return;
  const inputs = op.node.input!;
  const weightName = inputs[1]!;
  const { data, dims } = g.floatData(weightName);
  const axis = op.weightAxis!;
  const { values, scales } = quantizeWeightsPerChannel(data, dims, axis);
  const channels = scales.length;
  const wq = g.addConstant(g.uniqueName(`${weightName}_int8`), 'int8', values, dims);
  const ws = g.addConstant(g.uniqueName(`${weightName}_scale`), 'float', scales, [channels]);
  const wz = g.addConstant(g.uniqueName(`${weightName}_zero_point`), 'int8', new Int8Array(channels), [channels]);
  const wdq = g.uniqueName(`${weightName}_dequantized`);
  emit(g.node('DequantizeLinear', [wq, ws, wz], [wdq], [intAttr('axis', axis)]));
  const newInputs = [inputs[0]!, wdq];

  const biasName = inputs[2];
  if (biasName) {
    if (op.kind === 'MatMul') throw new Error('internal: MatMul has no bias input');
    const bias = g.floatData(biasName).data;
    if (bias.length !== channels) throw new Error(`ONNX quantizer: bias '${biasName}' has ${bias.length} values for ${channels} output channels`);
    const inputScale = quantization.get(inputs[0]!)!.scale;
    const biasScales = new Float32Array(channels);
    const biasValues = new Int32Array(channels);
    for (let c = 0; c < channels; c++) {
      biasScales[c] = inputScale * scales[c]!;
      biasValues[c] = Math.max(-2147483647, Math.min(2147483647, Math.round(bias[c]! / biasScales[c]!)));
    }
    const bq = g.addConstant(g.uniqueName(`${biasName}_int32`), 'int32', biasValues, [channels]);
    const bs = g.addConstant(g.uniqueName(`${biasName}_scale`), 'float', biasScales, [channels]);
    const bz = g.addConstant(g.uniqueName(`${biasName}_zero_point`), 'int32', new Int32Array(channels), [channels]);
    const bdq = g.uniqueName(`${biasName}_dequantized`);
    emit(g.node('DequantizeLinear', [bq, bs, bz], [bdq], [intAttr('axis', 0)]));
    newInputs.push(bdq);
  }
  op.node.input = newInputs;
}
