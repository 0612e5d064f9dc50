import { onnx } from 'onnx-proto';

const DataType = onnx.TensorProto.DataType;

/**
 * A decoded ONNX model opened for rewriting: nodes in order, initializers by name, and who
 * produces and consumes each tensor. The quantizer's passes edit `nodes` and `initializers`
 * and call `reindex()` after structural changes.
 */
export class EditableGraph {
  readonly model: onnx.ModelProto;
  nodes: onnx.INodeProto[];
  readonly initializers = new Map<string, onnx.ITensorProto>();
  readonly producer = new Map<string, onnx.INodeProto>();
  readonly consumers = new Map<string, onnx.INodeProto[]>();
  private readonly names = new Set<string>();

  constructor(bytes: Uint8Array) {
    this.model = onnx.ModelProto.decode(bytes);
    const graph = this.model.graph;
    if (!graph) throw new Error('ONNX model has no graph');
    this.nodes = [...(graph.node ?? [])];
    for (const init of graph.initializer ?? []) this.initializers.set(init.name!, init);
    this.reindex();
  }

  get graph(): onnx.IGraphProto {
    return this.model.graph!;
  }

  get outputNames(): string[] {
    return this.graph.output!.map((o) => o.name!);
  }

  get opset(): number {
    const entry = this.model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    return Number(entry?.version ?? 0);
  }

  reindex(): void {
    this.producer.clear();
    this.consumers.clear();
    this.names.clear();
    for (const io of [...this.graph.input!, ...this.graph.output!]) this.names.add(io.name!);
    for (const name of this.initializers.keys()) this.names.add(name);
    for (const node of this.nodes) {
      if (node.name) this.names.add(node.name);
      for (const out of node.output ?? []) {
        this.producer.set(out, node);
        this.names.add(out);
      }
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.consumers.get(input) ?? [];
        list.push(node);
        this.consumers.set(input, list);
      }
    }
  }

  /** A tensor or node name not yet used in the graph, based on `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  /** Consumers of a tensor, plus a pseudo-consumer count for graph outputs. */
  useCount(name: string): number {
    return (this.consumers.get(name)?.length ?? 0) + (this.outputNames.includes(name) ? 1 : 0);
  }

  floatData(name: string): { data: Float32Array; dims: number[] } {
    const tensor = this.initializers.get(name);
    if (!tensor) throw new Error(`ONNX quantizer: '${name}' is not a constant`);
    if (tensor.dataType !== DataType.FLOAT) throw new Error(`ONNX quantizer: constant '${name}' is not float32 (type ${tensor.dataType})`);
    const dims = (tensor.dims ?? []).map(Number);
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (tensor.rawData && tensor.rawData.length > 0) {
      const raw = tensor.rawData;
      data = new Float32Array(count);
      new Uint8Array(data.buffer).set(raw.subarray(0, count * 4)); // copy: rawData may be unaligned
    } else {
      data = Float32Array.from(tensor.floatData ?? []);
    }
    if (data.length !== count) throw new Error(`ONNX quantizer: constant '${name}' has ${data.length} values for dims [${dims.join(',')}]`);
    return { data, dims };
  }

  int64Data(name: string): number[] {
    const tensor = this.initializers.get(name);
    if (!tensor) throw new Error(`ONNX quantizer: '${name}' is not a constant`);
    if (tensor.dataType !== DataType.INT64) throw new Error(`ONNX quantizer: constant '${name}' is not int64`);
    if (tensor.rawData && tensor.rawData.length > 0) {
      const copy = new Uint8Array(tensor.rawData);
      return Array.from(new BigInt64Array(copy.buffer, 0, copy.length / 8), Number);
    }
    return (tensor.int64Data ?? []).map(Number);
  }

  /** Adds (or replaces) a constant; returns its name. */
  addConstant(name: string, type: 'float' | 'int8' | 'uint8' | 'int32', data: Float32Array | Int8Array | Uint8Array | Int32Array, dims: number[]): string {
    const dataType = { float: DataType.FLOAT, int8: DataType.INT8, uint8: DataType.UINT8, int32: DataType.INT32 }[type];
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.set(name, onnx.TensorProto.create({ name, dims, dataType, rawData: bytes }));
    this.names.add(name);
    return name;
  }

  node(opType: string, inputs: string[], outputs: string[], attributes: onnx.IAttributeProto[] = []): onnx.INodeProto {
    return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: this.uniqueName(`${outputs[0]}/${opType}`), attribute: attributes });
  }

  /** The model with the current nodes and initializers (unused constants dropped), and any extra float outputs. */
  encode(extraOutputs: string[] = []): Uint8Array {
    const used = new Set(this.nodes.flatMap((n) => n.input ?? []));
    const initializer = [...this.initializers.values()].filter((t) => used.has(t.name!));
    const output = [
      ...this.graph.output!,
      ...extraOutputs.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT } } })),
    ];
    const graph = onnx.GraphProto.create({ ...this.graph, node: this.nodes, initializer, output, valueInfo: [] });
    return onnx.ModelProto.encode(onnx.ModelProto.create({ ...this.model, graph })).finish();
  }
}

export function intAttribute(node: onnx.INodeProto, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.i) : undefined;
}

export function intsAttribute(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? (a.ints ?? []).map(Number) : undefined;
}

export function floatAttribute(node: onnx.INodeProto, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.f) : undefined;
}

export function stringAttribute(node: onnx.INodeProto, name: string): string | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

export function setIntsAttribute(node: onnx.INodeProto, name: string, values: number[]): void {
  const attributes = (node.attribute ?? []).filter((a) => a.name !== name);
  attributes.push({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
  node.attribute = attributes;
}

export function intAttr(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
