import { EditableGraph, floatAttribute, intsAttribute, setIntsAttribute, stringAttribute } from './graph';

/**
 * Folds each BatchNormalization that alone reads a Conv's output into the Conv's weights and bias
 * (w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β), so the quantized Conv covers it: ONNX Runtime
 * folds it too, but only in fp32 graphs, after quantization would have split the two.
 * Returns how many were folded.
 */
export function foldBatchNormalizations(g: EditableGraph): number {
  let folded = 0;
  for (const bn of [...g.nodes]) {
    if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).length !== 1) continue;
    const [x, scale, bias, mean, variance] = bn.input ?? [];
    const conv = g.producer.get(x!);
    if (!conv || conv.opType !== 'Conv' || g.useCount(x!) !== 1) continue;
    if (![scale, bias, mean, variance].every((n) => n && g.isInitializer(n)) || !g.isInitializer(conv.input![1]!)) continue;
    const epsilon = floatAttribute(bn, 'epsilon') ?? 1e-5;
    const gamma = g.floatData(scale!).data;
    const beta = g.floatData(bias!).data;
    const mu = g.floatData(mean!).data;
    const sigma2 = g.floatData(variance!).data;
    const { data: w, dims } = g.floatData(conv.input![1]!);
    const outChannels = dims[0]!;
    if (gamma.length !== outChannels) continue;
    const perChannel = w.length / outChannels;
    const b = conv.input![2] ? g.floatData(conv.input![2]).data : new Float32Array(outChannels);
    const newW = new Float32Array(w.length);
    const newB = new Float32Array(outChannels);
    for (let c = 0; c < outChannels; c++) {
      const factor = gamma[c]! / Math.sqrt(sigma2[c]! + epsilon);
      for (let i = c * perChannel; i < (c + 1) * perChannel; i++) newW[i] = w[i]! * factor;
      newB[c] = (b[c]! - mu[c]!) * factor + beta[c]!;
    }
    const wName = g.addConstant(g.uniqueName(`${conv.input![1]}_bn`), 'float', newW, dims);
    const bName = g.addConstant(g.uniqueName(`${conv.output![0]}_bn_bias`), 'float', newB, [outChannels]);
    conv.input = [conv.input![0]!, wName, bName];
    conv.output = [bn.output![0]!];
    g.nodes = g.nodes.filter((n) => n !== bn);
    g.reindex();
    folded++;
  }
  return folded;
}

/**
 * Folds a constant-zero Pad of the spatial axes that alone feeds a Conv into the Conv's own pads
 * (Keras' ZeroPadding2D before a strided conv): an asymmetric uint8 Conv pads with its zero
 * point, which is 0.0 exactly, and no fp32 Pad sits between two quantized tensors.
 */
export function foldPadsIntoConvs(g: EditableGraph): number {
  let folded = 0;
  for (const pad of [...g.nodes]) {
    if (pad.opType !== 'Pad') continue;
    const out = pad.output![0]!;
    const consumers = g.consumers.get(out) ?? [];
    if (consumers.length !== 1 || g.useCount(out) !== 1 || consumers[0]!.opType !== 'Conv') continue;
    const conv = consumers[0]!;
    if ((stringAttribute(pad, 'mode') ?? 'constant') !== 'constant') continue;
    const padsName = pad.input![1];
    if (!padsName || !g.isInitializer(padsName)) continue;
    const value = pad.input![2];
    if (value && !(g.isInitializer(value) && g.floatData(value).data.every((v) => v === 0))) continue;
    const pads = g.int64Data(padsName);
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0)) continue;
    const autoPad = stringAttribute(conv, 'auto_pad');
    if (autoPad && autoPad !== 'NOTSET') continue;
    const convPads = intsAttribute(conv, 'pads') ?? [0, 0, 0, 0];
    setIntsAttribute(conv, 'pads', [convPads[0]! + pads[2]!, convPads[1]! + pads[3]!, convPads[2]! + pads[6]!, convPads[3]! + pads[7]!]);
    conv.input = [pad.input![0]!, ...conv.input!.slice(1)];
    g.nodes = g.nodes.filter((n) => n !== pad);
    g.reindex();
    folded++;
  }
  return folded;
}
