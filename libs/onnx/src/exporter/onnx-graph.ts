import { onnx } from 'onnx-proto';

/** A small builder for an ONNX graph: nodes, float/int64 initializers, unique names. */
export class OnnxGraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A fresh tensor/node name based on `base` (sanitised, made unique). */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 't';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (e.g. the graph input). */
  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`ONNX export: name '${name}' is already used`);
    this.used.add(name);
  }

  floatConst(base: string, data: Float32Array | number[], dims: number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`ONNX export: constant ${base} has ${values.length} values, dims [${dims.join(',')}]`);
    const name = this.uniqueName(base);
    const copy = new Float32Array(values); // own, aligned buffer
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(copy.buffer) }),
    );
    return name;
  }

  int64Const(base: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.uniqueName(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) }),
    );
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: string[], base: string, attributes: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? this.uniqueName(base);
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: [out],
        name: this.uniqueName(`${base}/${opType}`),
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return out;
  }
}

export type AttrValue = number | string | number[] | { float: number };

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX export: attribute ${name}=${value} is not an integer; use { float }`);
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return { name, type: T.FLOAT, f: value.float };
}

export interface GraphIo {
  name: string;
  /** Dimensions; a string is a symbolic dimension (e.g. the batch 'N'). */
  dims: Array<number | string>;
}

export function valueInfo(io: GraphIo): onnx.IValueInfoProto {
  return {
    name: io.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: io.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function encodeModel(
  builder: OnnxGraphBuilder,
  graphName: string,
  input: GraphIo,
  output: GraphIo,
  opset: number,
): Uint8Array {
  return encodeGraph(builder, graphName, [input], [output], opset);
}

/** A model of any number of float inputs and outputs (a training step takes and returns every weight). */
export function encodeGraph(builder: OnnxGraphBuilder, graphName: string, inputs: GraphIo[], outputs: GraphIo[], opset: number): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: graphName,
    node: builder.nodes,
    initializer: builder.initializers,
    input: inputs.map(valueInfo),
    output: outputs.map(valueInfo),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'featx',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: opset }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
