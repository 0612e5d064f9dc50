import type { onnx } from 'onnx-proto';
import { EditableGraph, floatAttribute, intAttribute } from './graph';

/** One node that becomes an int8 kernel: its activation inputs and its (post-activation) output are quantized. */
export interface QuantizedOp {
  node: onnx.INodeProto;
  kind: 'Conv' | 'Gemm' | 'MatMul' | 'Add';
  /** Activation inputs, in input order (the weight and bias of Conv/Gemm/MatMul are not among them). */
  activationInputs: string[];
  /** The tensor whose range is the output's: the op's own output, or that of a ReLU/ReLU6 it absorbs. */
  output: string;
  /** A Relu or Clip(0, max) that alone reads the op's output: removed, its clamp done by the output's quantization. */
  absorbed?: onnx.INodeProto;
  /** Conv: 0 (output channels); Gemm/MatMul: the B axis of the output columns. */
  weightAxis?: number;
}

export interface QuantizationPlan {
  ops: QuantizedOp[];
  /** Every tensor to calibrate and quantize (uint8, asymmetric), each once. */
  activations: string[];
}

/**
 * Which nodes run as int8 kernels in ONNX Runtime (QLinearConv for Conv, depthwise too; QGemm;
 * QLinearMatMul; QLinearAdd) and which tensors need a calibrated range. Everything else stays
 * fp32 between a DequantizeLinear and a QuantizeLinear.
 */
export function planQuantization(g: EditableGraph): QuantizationPlan {
  const ops: QuantizedOp[] = [];
  for (const node of g.nodes) {
    const op = quantizable(g, node);
    if (op) ops.push(op);
  }
  const activations: string[] = [];
  const seen = new Set<string>();
  for (const op of ops) {
    for (const t of [...op.activationInputs, op.output]) {
      if (!seen.has(t)) {
        seen.add(t);
        activations.push(t);
      }
    }
  }
  return { ops, activations };
}

function quantizable(g: EditableGraph, node: onnx.INodeProto): QuantizedOp | undefined {
  const inputs = node.input ?? [];
  const base = { node, output: node.output![0]! };
  switch (node.opType) {
    case 'Conv': {
      if (!g.isInitializer(inputs[1]!) || g.isInitializer(inputs[0]!)) return undefined;
      if (inputs[2] && !g.isInitializer(inputs[2])) return undefined;
      return absorbActivation(g, { ...base, kind: 'Conv', activationInputs: [inputs[0]!], weightAxis: 0 });
    }
    case 'Gemm': {
      if (!g.isInitializer(inputs[1]!) || g.isInitializer(inputs[0]!) || (inputs[2] && !g.isInitializer(inputs[2]))) return undefined;
      if ((floatAttribute(node, 'alpha') ?? 1) !== 1 || (floatAttribute(node, 'beta') ?? 1) !== 1 || intAttribute(node, 'transA')) return undefined;
      if (inputs[2] && g.floatData(inputs[2]).dims.length !== 1) return undefined;
      return absorbActivation(g, { ...base, kind: 'Gemm', activationInputs: [inputs[0]!], weightAxis: intAttribute(node, 'transB') ? 0 : 1 });
    }
    case 'MatMul': {
      if (!g.isInitializer(inputs[1]!) || g.isInitializer(inputs[0]!) || g.floatData(inputs[1]!).dims.length !== 2) return undefined;
      return absorbActivation(g, { ...base, kind: 'MatMul', activationInputs: [inputs[0]!], weightAxis: 1 });
    }
    case 'Add': {
      if (inputs.length !== 2 || inputs.some((i) => g.isInitializer(i))) return undefined;
      return absorbActivation(g, { ...base, kind: 'Add', activationInputs: [inputs[0]!, inputs[1]!] });
    }
    default:
      return undefined;
  }
}

/** A ReLU, or a Clip from 0 (ReLU6), that alone reads the op's output becomes part of the output's quantization. */
function absorbActivation(g: EditableGraph, op: QuantizedOp): QuantizedOp {
  const out = op.output;
  if (g.useCount(out) !== 1) return op;
  const next = g.consumers.get(out)![0]!;
  const nextOut = next.output![0]!;
  if (g.outputNames.includes(nextOut)) return op;
  if (next.opType === 'Relu' || (next.opType === 'Clip' && clipsFromZero(g, next))) return { ...op, output: nextOut, absorbed: next };
  return op;
}

function clipsFromZero(g: EditableGraph, clip: onnx.INodeProto): boolean {
  const [, min, max] = clip.input ?? [];
  if (!min || !g.isInitializer(min) || g.floatData(min).data[0] !== 0) return false;
  return !max || g.isInitializer(max);
}
