import { onnx } from 'onnx-proto';

/**
 * Tiny ONNX model builders (onnx-proto), for tests and benchmarks of the ONNX engine: no Python
 * or exporter needed. Dimensions given as strings are symbolic (e.g. 'N' for the batch).
 */

type Dim = number | string;
type Attr = number | number[] | string;

export function onnxTensor(name: string, dims: readonly number[], values: Float32Array): onnx.ITensorProto {
  return {
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
  };
}

export function onnxValueInfo(name: string, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function onnxNode(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, value]) => {
    if (typeof value === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
    if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
    return Number.isInteger(value)
      ? { name, type: onnx.AttributeProto.AttributeType.INT, i: value }
      : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
  });
  return { opType, input: inputs, output: outputs, attribute, name: `${opType}_${outputs[0]}` };
}

export function onnxModelBytes(graph: {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  opset?: number;
}): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'featx-test',
    opsetImport: [{ domain: '', version: graph.opset ?? 13 }],
    graph: { name: 'g', node: graph.nodes, initializer: graph.initializers, input: graph.inputs, output: graph.outputs },
  };
  return onnx.ModelProto.encode(model).finish();
}

export interface PointwiseConvModel {
  bytes: Uint8Array;
  /** [outChannels, 3] 1x1 conv weights, row-major. */
  weights: Float32Array;
  bias: Float32Array;
  outChannels: number;
}

/**
 * Conv 1x1 (3 → outChannels, weights + bias) → Relu on an [N,3,H,W] image, output [N,C,H,W]; with
 * layout 'NHWC' wrapped in Transposes so input is [N,H,W,3] and output [N,H,W,C]; with
 * `head: 'gap'` followed by GlobalAveragePool + Flatten (output [N,C]).
 */
export function pointwiseConvModel(options: {
  size: [number, number];
  outChannels?: number;
  layout?: 'NCHW' | 'NHWC';
  head?: 'map' | 'gap';
  inputName?: string;
  outputName?: string;
  weights?: Float32Array;
  bias?: Float32Array;
}): PointwiseConvModel {
  const [h, w] = options.size;
  const c = options.outChannels ?? 4;
  const layout = options.layout ?? 'NCHW';
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'features';
  const weights = options.weights ?? Float32Array.from({ length: c * 3 }, (_, i) => ((i * 7) % 11) / 10 - 0.45);
  const bias = options.bias ?? Float32Array.from({ length: c }, (_, i) => (i % 3) * 0.1 - 0.1);
  const nodes: onnx.INodeProto[] = [];
  let x = inputName;
  if (layout === 'NHWC') {
    nodes.push(onnxNode('Transpose', [x], ['x_nchw'], { perm: [0, 3, 1, 2] }));
    x = 'x_nchw';
  }
  nodes.push(onnxNode('Conv', [x, 'W', 'B'], ['conv'], { kernel_shape: [1, 1] }));
  const gap = options.head === 'gap';
  nodes.push(onnxNode('Relu', ['conv'], [gap || layout === 'NHWC' ? 'relu' : outputName]));
  let outDims: Dim[] = ['N', c, h, w];
  if (gap) {
    nodes.push(onnxNode('GlobalAveragePool', ['relu'], ['gap']));
    nodes.push(onnxNode('Flatten', ['gap'], [outputName], { axis: 1 }));
    outDims = ['N', c];
  } else if (layout === 'NHWC') {
    nodes.push(onnxNode('Transpose', ['relu'], [outputName], { perm: [0, 2, 3, 1] }));
    outDims = ['N', h, w, c];
  }
  const bytes = onnxModelBytes({
    nodes,
    initializers: [onnxTensor('W', [c, 3, 1, 1], weights), onnxTensor('B', [c], bias)],
    inputs: [onnxValueInfo(inputName, layout === 'NHWC' ? ['N', h, w, 3] : ['N', 3, h, w])],
    outputs: [onnxValueInfo(outputName, outDims)],
  });
  return { bytes, weights, bias, outChannels: c };
}

/**
 * A benchmark-sized NCHW model: a stack of 3x3 convs (pad 1) + Relu, stride 2 where `strides`
 * says so, deterministic pseudo-random weights. `channels[i]` is layer i's output channels.
 */
export function convStackModel(options: { size: [number, number]; channels: number[]; strides?: number[]; seed?: number }): Uint8Array {
  const [h, w] = options.size;
  let seed = options.seed ?? 1;
  const rand = (): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = 'input';
  let cin = 3;
  let [oh, ow] = [h, w];
  options.channels.forEach((cout, i) => {
    const stride = options.strides?.[i] ?? 1;
    const scale = Math.sqrt(2 / (cin * 9));
    initializers.push(onnxTensor(`W${i}`, [cout, cin, 3, 3], Float32Array.from({ length: cout * cin * 9 }, () => rand() * 2 * scale)));
    initializers.push(onnxTensor(`B${i}`, [cout], Float32Array.from({ length: cout }, () => rand() * 0.1)));
    nodes.push(onnxNode('Conv', [x, `W${i}`, `B${i}`], [`c${i}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] }));
    const out = i === options.channels.length - 1 ? 'features' : `r${i}`;
    nodes.push(onnxNode('Relu', [`c${i}`], [out]));
    x = out;
    cin = cout;
    oh = Math.floor((oh + 2 - 3) / stride) + 1;
    ow = Math.floor((ow + 2 - 3) / stride) + 1;
  });
  return onnxModelBytes({
    nodes,
    initializers,
    inputs: [onnxValueInfo('input', ['N', 3, h, w])],
    outputs: [onnxValueInfo('features', ['N', cin, oh, ow])],
  });
}
