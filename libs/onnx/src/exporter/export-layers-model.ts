import * as tf from '@tensorflow/tfjs';
import { encodeModel, OnnxGraphBuilder } from './onnx-graph';

export interface ExportLayersModelOptions {
  /** Export up to this layer's output (default: the model's first output). */
  outputLayer?: string;
  /** ONNX opset (default 13; 11 and up supported). */
  opset?: number;
  /** Name of the ONNX graph input (default 'input'). */
  inputName?: string;
  /** Name of the ONNX graph output (default: the output layer's name). */
  outputName?: string;
  /**
   * Layout of a 4-D graph input: 'NHWC' (default) takes the same tensor as TF.js and transposes
   * inside the graph; 'NCHW' takes channels-first input. Outputs always keep the Keras layout (NHWC for 4-D).
   */
  inputLayout?: 'NHWC' | 'NCHW';
}

export interface ExportedOnnxModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** Layout of the graph input (for a 4-D input; other ranks are passed as in TF.js). */
  inputLayout: 'NHWC' | 'NCHW';
  /** Graph input shape with -1 for the batch (and any unknown) dimension. */
  inputShape: number[];
  /** Graph output shape in Keras layout, -1 for the batch. */
  outputShape: number[];
}

/** A layer, or a config of one, that the exporter cannot translate. */
export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    detail: string,
  ) {
    super(`cannot export layer '${layerName}' (${className}) to ONNX: ${detail}`);
    this.name = 'UnsupportedLayerError';
  }
}

/**
 * An exported tensor. 4-D tensors may be held channels-first ('nchw', the ONNX conv layout) or in
 * Keras layout ('keras' = NHWC for 4-D, as-is for other ranks); transposes are inserted on demand.
 */
interface Value {
  keras?: string;
  nchw?: string;
  /** Keras shape, batch first (null = unknown). */
  shape: Array<number | null>;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

/** Translates a TF.js layers model (functional or Sequential, channels-last) to an ONNX model. */
export function exportLayersModelToOnnx(model: tf.LayersModel, options: ExportLayersModelOptions = {}): ExportedOnnxModel {
  const opset = options.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 11) throw new Error(`ONNX export supports opset 11 and later, not ${opset}`);
  if (model.inputs.length !== 1) throw new Error(`ONNX export supports models with one input; ${model.name} has ${model.inputs.length}`);
  const inputLayout = options.inputLayout ?? 'NHWC';
  const g = new OnnxGraphBuilder();
  const inputName = options.inputName ?? 'input';
  g.reserve(inputName);
  const target = options.outputLayer === undefined ? model.outputs[0]! : outputOfLayer(model, options.outputLayer);
  const outputName = options.outputName ?? sanitize(target.sourceLayer.name);
  g.reserve(outputName);

  const modelInput = model.inputs[0]!;
  const inShape = modelInput.shape as Array<number | null>;
  const values = new Map<number, Value>();
  const inputValue: Value = { shape: inShape };
  let graphInputDims: Array<number | string>;
  if (inShape.length === 4 && inputLayout === 'NCHW') {
    inputValue.nchw = inputName;
    graphInputDims = NHWC_TO_NCHW.map((a) => dimOf(inShape[a] ?? null, a));
  } else {
    inputValue.keras = inputName;
    graphInputDims = inShape.map((d, a) => dimOf(d, a));
  }
  values.set(modelInput.id, inputValue);

  const ctx = new Ctx(g, opset);
  // Layers are in topological order; loop in case a shared layer's nodes come out of order.
  const pending = new Set<tf.layers.Layer>(model.layers);
  const done = new Set<object>();
  let progress = true;
  while (!values.has(target.id) && progress) {
    progress = false;
    for (const layer of pending) {
      for (const node of layer.inboundNodes) {
        if (done.has(node)) continue;
        const inputs = node.inputTensors;
        if (inputs.length === 0) {
          done.add(node); // an InputLayer's own node: its output is the model input
          continue;
        }
        if (!inputs.every((t) => values.has(t.id))) continue;
        const outs = node.outputTensors;
        if (outs.length !== 1) throw new UnsupportedLayerError(layer.name, layer.getClassName(), `${outs.length} outputs`);
        const out = convertLayer(ctx, layer, inputs.map((t) => values.get(t.id)!), outs[0]!.shape as Array<number | null>);
        values.set(outs[0]!.id, out);
        done.add(node);
        progress = true;
      }
    }
  }
  const result = values.get(target.id);
  if (!result) throw new Error(`ONNX export: could not reach ${target.name} from the model input`);

  ctx.toKeras(result);
  g.node('Identity', [result.keras!], outputName, {}, outputName);

  const bytes = encodeModel(g, sanitize(model.name), { name: inputName, dims: graphInputDims }, { name: outputName, dims: result.shape.map((d, a) => dimOf(d, a)) }, opset);
  return {
    bytes,
    inputName,
    outputName,
    inputLayout: inShape.length === 4 ? inputLayout : 'NHWC',
    inputShape: graphInputDims.map((d) => (typeof d === 'number' ? d : -1)),
    outputShape: result.shape.map((d) => d ?? -1),
  };
}

function dimOf(d: number | null, axis: number): number | string {
  return d ?? (axis === 0 ? 'N' : `d${axis}`);
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'output';
}

function outputOfLayer(model: tf.LayersModel, layerName: string): tf.SymbolicTensor {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(layerName);
  } catch {
    throw new Error(`ONNX export: no layer '${layerName}' in ${model.name}`);
  }
  const out = layer.output;
  if (Array.isArray(out)) throw new Error(`ONNX export: layer '${layerName}' has ${out.length} outputs`);
  return out;
}

class Ctx {
  constructor(
    readonly g: OnnxGraphBuilder,
    readonly opset: number,
  ) {}

  toNchw(v: Value): string {
    if (v.shape.length !== 4) throw new Error(`internal: NCHW view of a rank-${v.shape.length} tensor`);
    if (!v.nchw) v.nchw = this.g.node('Transpose', [v.keras!], `${v.keras!}_nchw`, { perm: NHWC_TO_NCHW });
    return v.nchw;
  }

  toKeras(v: Value): string {
    if (!v.keras) v.keras = this.g.node('Transpose', [v.nchw!], `${v.nchw!}_nhwc`, { perm: NCHW_TO_NHWC });
    return v.keras;
  }

  /** Preferred view: NCHW when the tensor is already there (avoids transposes), else Keras. */
  anyView(v: Value): { name: string; nchw: boolean } {
    return v.nchw ? { name: v.nchw, nchw: true } : { name: v.keras!, nchw: false };
  }
}

type Config = Record<string, unknown>;

function convertLayer(ctx: Ctx, layer: tf.layers.Layer, inputs: Value[], outShape: Array<number | null>): Value {
  const cls = layer.getClassName();
  const name = layer.name;
  const config = layer.getConfig() as Config;
  const fail = (detail: string): never => {
    throw new UnsupportedLayerError(name, cls, detail);
  };
  const g = ctx.g;
  const x = inputs[0]!;
  const rank = x.shape.length;

  const need4d = () => {
    if (rank !== 4) fail(`expects a 4-D input, got rank ${rank}`);
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') fail(`dataFormat ${String(config.dataFormat)}`);
  };

  switch (cls) {
    case 'InputLayer':
      return x;

    case 'Conv2D':
    case 'DepthwiseConv2D': {
      need4d();
      const kernelSize = pair(config.kernelSize, fail, 'kernelSize');
      const strides = pair(config.strides ?? 1, fail, 'strides');
      const dilation = pair(config.dilationRate ?? 1, fail, 'dilationRate');
      if (dilation[0] !== 1 || dilation[1] !== 1) fail(`dilationRate [${dilation.join(',')}] is not supported (only 1)`);
      if ((config.groups ?? 1) !== 1) fail(`groups ${String(config.groups)}`);
      const pads = padsFor(config.padding, x.shape, kernelSize, strides, fail);
      const weights = weightsByName(layer);
      let w: string;
      let group = 1;
      if (cls === 'Conv2D') {
        const kernel = weights.get('kernel') ?? fail('no kernel weight');
        const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
        w = g.floatConst(`${name}/kernel`, transposed(kernel, [3, 2, 0, 1]), [cout, cin, kh, kw]);
      } else {
        const kernel = weights.get('depthwise_kernel') ?? fail('no depthwise_kernel weight');
        const [kh, kw, cin, mult] = kernel.shape as [number, number, number, number];
        // [kh,kw,cin,mult] → [cin,mult,kh,kw] → [cin*mult,1,kh,kw]: output channel c*mult+m, as in TF.
        w = g.floatConst(`${name}/depthwise_kernel`, transposed(kernel, [2, 3, 0, 1]), [cin * mult, 1, kh, kw]);
        group = cin;
      }
      const convInputs = [ctx.toNchw(x), w];
      if (config.useBias !== false) {
        const bias = weights.get('bias') ?? fail('no bias weight');
        convInputs.push(g.floatConst(`${name}/bias`, bias.dataSync() as Float32Array, [bias.size]));
      }
      const y = g.node('Conv', convInputs, name, { kernel_shape: kernelSize, strides, dilations: dilation, pads, group });
      return activation(ctx, { nchw: y, shape: outShape }, config.activation, name, cls);
    }

    case 'BatchNormalization': {
      const axis = (config.axis as number | number[] | undefined) ?? -1;
      const a = Array.isArray(axis) ? axis : [axis];
      if (a.length !== 1 || !(a[0] === -1 || a[0] === rank - 1)) fail(`axis ${JSON.stringify(axis)} (only the last axis)`);
      if (rank !== 4 && rank !== 2) fail(`rank-${rank} input (only 2-D and 4-D)`);
      const weights = weightsByName(layer);
      const mean = weights.get('moving_mean') ?? fail('no moving_mean');
      const variance = weights.get('moving_variance') ?? fail('no moving_variance');
      const c = mean.size;
      const gamma = weights.get('gamma');
      const beta = weights.get('beta');
      const scale = g.floatConst(`${name}/gamma`, gamma ? (gamma.dataSync() as Float32Array) : new Float32Array(c).fill(1), [c]);
      const bias = g.floatConst(`${name}/beta`, beta ? (beta.dataSync() as Float32Array) : new Float32Array(c), [c]);
      const m = g.floatConst(`${name}/moving_mean`, mean.dataSync() as Float32Array, [c]);
      const v = g.floatConst(`${name}/moving_variance`, variance.dataSync() as Float32Array, [c]);
      const epsilon = { float: (config.epsilon as number | undefined) ?? 1e-3 };
      if (rank === 4) {
        return { nchw: g.node('BatchNormalization', [ctx.toNchw(x), scale, bias, m, v], name, { epsilon }), shape: outShape };
      }
      return { keras: g.node('BatchNormalization', [ctx.toKeras(x), scale, bias, m, v], name, { epsilon }), shape: outShape };
    }

    case 'ReLU': {
      if (config.negativeSlope || config.threshold) fail('negativeSlope/threshold');
      const maxValue = config.maxValue as number | null | undefined;
      return elementwise(ctx, x, outShape, (inp) =>
        maxValue === null || maxValue === undefined ? g.node('Relu', [inp], name) : clip(ctx, inp, 0, maxValue, name),
      );
    }

    case 'Activation':
      return activation(ctx, x, config.activation, name, cls, outShape);

    case 'Softmax': {
      const axis = normAxis((config.axis as number | undefined) ?? -1, rank);
      if (Array.isArray(config.axis)) fail('multiple axes');
      return softmax(ctx, x, axis, name, outShape, fail);
    }

    case 'Add':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum':
    case 'Average': {
      if (inputs.length < 2) fail(`${inputs.length} inputs`);
      if (inputs.some((v) => v.shape.length !== rank)) fail('inputs of different ranks');
      // Stay in NCHW when any 4-D input is there already.
      const useNchw = rank === 4 && inputs.some((v) => v.nchw);
      const names = inputs.map((v) => (useNchw ? ctx.toNchw(v) : ctx.toKeras(v)));
      const op = { Add: 'Add', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Sum' }[cls]!;
      let y: string;
      if (op === 'Max' || op === 'Min' || op === 'Sum') {
        y = g.node(op, names, name);
      } else {
        y = names[0]!;
        for (let i = 1; i < names.length; i++) y = g.node(op, [y, names[i]!], i === names.length - 1 ? name : `${name}_${i}`);
      }
      if (cls === 'Average') y = g.node('Div', [y, g.floatConst(`${name}/count`, [names.length], [])], name);
      return useNchw ? { nchw: y, shape: outShape } : { keras: y, shape: outShape };
    }

    case 'ZeroPadding2D': {
      need4d();
      const [[top, bottom], [left, right]] = zeroPadding(config.padding, fail);
      const pads = g.int64Const(`${name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
      return { nchw: g.node('Pad', [ctx.toNchw(x), pads], name, { mode: 'constant' }), shape: outShape };
    }

    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      need4d();
      const poolSize = pair(config.poolSize, fail, 'poolSize');
      const strides = pair(config.strides ?? config.poolSize, fail, 'strides');
      const pads = padsFor(config.padding, x.shape, poolSize, strides, fail);
      const attrs: Record<string, number[] | number> = { kernel_shape: poolSize, strides, pads };
      // Keras/TF.js 'same' average pooling divides by the number of real (unpadded) inputs.
      if (cls === 'AveragePooling2D') attrs.count_include_pad = 0;
      const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
      return { nchw: g.node(op, [ctx.toNchw(x)], name, attrs), shape: outShape };
    }

    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      need4d();
      const op = cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
      const pooled = g.node(op, [ctx.toNchw(x)], `${name}_4d`);
      if (config.keepDims === true || config.keepdims === true) return { nchw: pooled, shape: outShape };
      return { keras: g.node('Flatten', [pooled], name, { axis: 1 }), shape: outShape };
    }

    case 'Flatten': {
      if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') fail(`dataFormat ${String(config.dataFormat)}`);
      return { keras: g.node('Flatten', [ctx.toKeras(x)], name, { axis: 1 }), shape: outShape };
    }

    case 'Reshape': {
      // TF.js keeps -1 as null in targetShape.
      const targetShape = ((config.targetShape as Array<number | null>) ?? []).map((d) => d ?? -1);
      if (targetShape.length === 0 || targetShape.some((d) => !Number.isInteger(d) || d === 0)) fail(`targetShape ${JSON.stringify(config.targetShape)}`);
      const shape = g.int64Const(`${name}/shape`, [0, ...targetShape]); // 0 copies the batch dimension
      return { keras: g.node('Reshape', [ctx.toKeras(x), shape], name), shape: outShape };
    }

    case 'Dense': {
      const weights = weightsByName(layer);
      const kernel = weights.get('kernel') ?? fail('no kernel weight');
      const [units_in, units] = kernel.shape as [number, number];
      const k = g.floatConst(`${name}/kernel`, kernel.dataSync() as Float32Array, [units_in, units]);
      const xin = ctx.toKeras(x);
      let y: string;
      if (config.useBias !== false) {
        const bias = weights.get('bias') ?? fail('no bias weight');
        const b = g.floatConst(`${name}/bias`, bias.dataSync() as Float32Array, [units]);
        y = rank === 2 ? g.node('Gemm', [xin, k, b], name) : g.node('Add', [g.node('MatMul', [xin, k], `${name}_matmul`), b], name);
      } else {
        y = g.node('MatMul', [xin, k], name);
      }
      return activation(ctx, { keras: y, shape: outShape }, config.activation, name, cls);
    }

    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return x; // identity at inference

    default:
      return fail('this layer type is not supported');
  }
}

/** Applies a Keras activation (by serialized name) to a value, keeping its layout where possible. */
function activation(ctx: Ctx, v: Value, act: unknown, name: string, cls: string, outShape: Array<number | null> = v.shape): Value {
  const g = ctx.g;
  const kind = act === undefined || act === null ? 'linear' : String(act);
  const fail = (detail: string): never => {
    throw new UnsupportedLayerError(name, cls, detail);
  };
  const outName = `${name}_${kind}`;
  switch (kind) {
    case 'linear':
      return { ...v, shape: outShape };
    case 'relu':
      return elementwise(ctx, v, outShape, (x) => g.node('Relu', [x], outName));
    case 'relu6':
      return elementwise(ctx, v, outShape, (x) => clip(ctx, x, 0, 6, outName));
    case 'sigmoid':
      return elementwise(ctx, v, outShape, (x) => g.node('Sigmoid', [x], outName));
    case 'tanh':
      return elementwise(ctx, v, outShape, (x) => g.node('Tanh', [x], outName));
    case 'elu':
      return elementwise(ctx, v, outShape, (x) => g.node('Elu', [x], outName, { alpha: { float: 1 } }));
    case 'softplus':
      return elementwise(ctx, v, outShape, (x) => g.node('Softplus', [x], outName));
    case 'softmax':
      return softmax(ctx, v, v.shape.length - 1, outName, outShape, fail);
    default:
      return fail(`activation '${kind}' is not supported`);
  }
}

function elementwise(ctx: Ctx, v: Value, outShape: Array<number | null>, op: (input: string) => string): Value {
  const view = ctx.anyView(v);
  const y = op(view.name);
  return view.nchw ? { nchw: y, shape: outShape } : { keras: y, shape: outShape };
}

function clip(ctx: Ctx, input: string, min: number, max: number, name: string): string {
  const lo = ctx.g.floatConst(`${name}/min`, [min], []);
  const hi = ctx.g.floatConst(`${name}/max`, [max], []);
  return ctx.g.node('Clip', [input, lo, hi], name);
}

/** Softmax over one Keras axis (already normalised to 0..rank-1). */
function softmax(ctx: Ctx, v: Value, axis: number, name: string, outShape: Array<number | null>, fail: (d: string) => never): Value {
  const rank = v.shape.length;
  if (axis === 0) fail('softmax over the batch axis');
  if (ctx.opset < 13 && axis !== rank - 1) fail(`softmax over axis ${axis} needs opset 13`);
  if (rank === 4 && v.nchw && ctx.opset >= 13) {
    const nchwAxis = [0, 2, 3, 1][axis]!;
    return { nchw: ctx.g.node('Softmax', [v.nchw], name, { axis: nchwAxis }), shape: outShape };
  }
  return { keras: ctx.g.node('Softmax', [ctx.toKeras(v)], name, { axis }), shape: outShape };
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function pair(value: unknown, fail: (d: string) => never, what: string): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((n) => Number.isInteger(n))) return [value[0] as number, value[1] as number];
  if (Array.isArray(value) && value.length === 1 && Number.isInteger(value[0])) return [value[0] as number, value[0] as number];
  return fail(`${what} ${JSON.stringify(value)}`);
}

function zeroPadding(value: unknown, fail: (d: string) => never): [[number, number], [number, number]] {
  if (typeof value === 'number') return [[value, value], [value, value]];
  if (Array.isArray(value) && value.length === 2) {
    const [h, w] = value as unknown[];
    const side = (s: unknown): [number, number] =>
      typeof s === 'number' ? [s, s] : Array.isArray(s) && s.length === 2 ? [s[0] as number, s[1] as number] : fail(`padding ${JSON.stringify(value)}`);
    return [side(h), side(w)];
  }
  return fail(`padding ${JSON.stringify(value)}`);
}

/**
 * ONNX pads [top, left, bottom, right] for Keras padding. 'same' pads so that out = ceil(in / stride),
 * the extra row/column going to the bottom/right as in TensorFlow.
 */
function padsFor(
  padding: unknown,
  inShape: Array<number | null>,
  kernel: [number, number],
  strides: [number, number],
  fail: (d: string) => never,
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') return fail(`padding '${String(padding)}'`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const size = inShape[1 + i];
    if (size === null || size === undefined) fail('padding same needs a known input height and width');
    const out = Math.ceil(size! / strides[i]!);
    const total = Math.max((out - 1) * strides[i]! + kernel[i]! - size!, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/** The layer's weights by short name (kernel, bias, gamma, moving_mean, ...). */
function weightsByName(layer: tf.layers.Layer): Map<string, tf.Tensor> {
  const values = layer.getWeights();
  const map = new Map<string, tf.Tensor>();
  layer.weights.forEach((w, i) => {
    const full = w.originalName ?? w.name;
    const short = full.slice(full.lastIndexOf('/') + 1).replace(/(_\d+)?(:\d+)?$/, '');
    map.set(short, values[i]!);
  });
  return map;
}

function transposed(t: tf.Tensor, perm: number[]): Float32Array {
  // Not through tf.tidy: it would walk the returned array element by element (seconds per kernel).
  const moved = tf.transpose(t, perm);
  try {
    return (moved.dataSync() as Float32Array).slice();
  } finally {
    moved.dispose();
  }
}
