import { GraphIo, OnnxGraphBuilder, encodeGraph } from '@featx/onnx';
import { ResolvedHeadSpec, layerUnits } from '../head-spec';
import { ResolvedOptimizerSpec, slotNames } from '../optimizers';

/**
 * The ONNX graphs of a head: one training step (forward, softmax cross-entropy, backward, optimizer
 * update) and inference (logits), with every weight and optimizer slot a graph input and, in the
 * training graph, its updated value an output. The math is dense-network.ts and optimizers.ts
 * again, op for op, so both engines agree within float tolerance.
 *
 * Why kernels come in row parts: onnxruntime-node copies every output into a newly allocated
 * ArrayBuffer (even a pre-allocated one, measured on 1.30), and on this machine memory touched for
 * the first time costs ~5 ms per MB in page faults. Parts of at most PART_FLOATS stay under glibc's
 * 32 MiB mmap ceiling, so their buffers come back from the heap already mapped (~0.3-0.7 ms per MB).
 * A part's rows are output units, so the forward pass concatenates the parts' outputs and each part's
 * gradient is its own GEMM, dZ[:, rows]ᵀ·input, fused with the optimizer's update where it can be.
 */

const OPSET = 17;
/** 16 MiB of float32: the largest input or output of the graph (see above). */
export const PART_FLOATS = 4 * 1024 * 1024;

/** A run of whole rows of one parameter: the graph input `name` holds `dims` floats from `offset`. */
export interface ParameterPart {
  name: string;
  /** The parameter it belongs to, as checkpoints name it (`dense_<n>/kernelT`, `dense_<n>/bias`). */
  parameter: string;
  offset: number;
  dims: number[];
}

export interface LayerParts {
  inputs: number;
  units: number;
  /** The kernel, [units, inputs] (transposed as in dense-network.ts), in row parts. */
  kernel: ParameterPart[];
  bias: ParameterPart;
}

export function layerParts(spec: ResolvedHeadSpec, partFloats = PART_FLOATS): LayerParts[] {
  let inputs = spec.inputDim;
  return layerUnits(spec).map((units, l) => {
    const layer = `dense_${l + 1}`;
    const rowsPerPart = Math.max(1, Math.floor(partFloats / inputs));
    const kernel: ParameterPart[] = [];
    for (let row = 0; row < units; row += rowsPerPart) {
      kernel.push({ name: `${layer}/kernelT:${kernel.length}`, parameter: `${layer}/kernelT`, offset: row * inputs, dims: [Math.min(rowsPerPart, units - row), inputs] });
    }
    const parts: LayerParts = { inputs, units, kernel, bias: { name: `${layer}/bias`, parameter: `${layer}/bias`, offset: 0, dims: [units] } };
    inputs = units;
    return parts;
  });
}

/** Graph input of a slot of a part; its updated value is `next/<input>`. */
export const slotInput = (slot: string, part: ParameterPart): string => `${slot}/${part.name}`;
export const nextValue = (input: string): string => `next/${input}`;

/** The training step's graph inputs besides weights and slots. */
export const TRAIN_INPUTS = {
  features: 'features',
  /** One-hot labels [rows, classes]. */
  target: 'target',
  /** d(loss)/d(logits) factor per row [rows, 1]: class weight × gradient scale (−lr_t for SGD) / rows. */
  rowScale: 'row_scale',
  /** Added kernel gradient per weight: 2λ × gradient scale (present with L2). */
  kernelDecay: 'kernel_decay',
  /** Adam's step size with the bias corrections folded in (Keras). */
  adamAlpha: 'adam_alpha',
  /** Dropout mask of hidden layer l: `dropout_mask:<l>`. */
  dropoutMask: (l: number) => `dropout_mask:${l}`,
  logits: 'logits',
  /** λ·Σw² over every kernel before the update (present with L2). */
  penalty: 'penalty',
} as const;

function parameterInputs(layers: LayerParts[]): ParameterPart[] {
  return layers.flatMap((layer) => [...layer.kernel, layer.bias]);
}

function io(part: ParameterPart, name = part.name): GraphIo {
  return { name, dims: part.dims };
}

interface ForwardTrace {
  inputs: string[];
  gates: string[];
  logits: string;
}

function forward(g: OnnxGraphBuilder, layers: LayerParts[], features: string, masks: string[] | undefined, logitsName: string): ForwardTrace {
  const zero = layers.length > 1 ? g.floatConst('zero', [0], []) : '';
  const inputs = [features];
  const gates: string[] = [];
  let activation = features;
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    const output = last ? logitsName : undefined;
    let z: string;
    if (layer.kernel.length === 1) {
      z = g.node('Gemm', [activation, layer.kernel[0].name, layer.bias.name], `dense_${l + 1}/z`, { transB: 1 }, output);
    } else {
      const columns = layer.kernel.map((part) => g.node('Gemm', [activation, part.name], `dense_${l + 1}/z_part`, { transB: 1 }));
      z = g.node('Add', [g.node('Concat', columns, `dense_${l + 1}/z_parts`, { axis: 1 }), layer.bias.name], `dense_${l + 1}/z`, {}, output);
    }
    if (last) return;
    // relu(z)·mask = z·gate with gate = step(z)·mask, kept for the backward pass (as dense-network.ts).
    const slope = g.node('Cast', [g.node('Greater', [z, zero], `dense_${l + 1}/positive`)], `dense_${l + 1}/slope`, { to: 1 });
    const gate = masks ? g.node('Mul', [slope, masks[l]], `dense_${l + 1}/gate`) : slope;
    activation = g.node('Mul', [z, gate], `dense_${l + 1}/a`);
    gates.push(gate);
    inputs.push(activation);
  });
  return { inputs, gates, logits: logitsName };
}

/** features [rows, inputDim] + every weight → logits [rows, classes]. */
export function inferenceGraph(spec: ResolvedHeadSpec, partFloats = PART_FLOATS): Uint8Array {
  const layers = layerParts(spec, partFloats);
  const g = new OnnxGraphBuilder();
  const parameters = parameterInputs(layers);
  [TRAIN_INPUTS.features, TRAIN_INPUTS.logits, ...parameters.map((p) => p.name)].forEach((name) => g.reserve(name));
  forward(g, layers, TRAIN_INPUTS.features, undefined, TRAIN_INPUTS.logits);
  return encodeGraph(
    g,
    'featx-head-inference',
    [{ name: TRAIN_INPUTS.features, dims: ['rows', spec.inputDim] }, ...parameters.map((p) => io(p))],
    [{ name: TRAIN_INPUTS.logits, dims: ['rows', spec.classes] }],
    OPSET,
  );
}

/** One training step: see TRAIN_INPUTS for its inputs besides every weight and slot, and its outputs. */
export function trainingGraph(spec: ResolvedHeadSpec, optimizer: ResolvedOptimizerSpec, partFloats = PART_FLOATS): Uint8Array {
  const layers = layerParts(spec, partFloats);
  const slots = slotNames(optimizer);
  const parameters = parameterInputs(layers);
  const withL2 = spec.l2 > 0;
  const g = new OnnxGraphBuilder();
  const { features, target, rowScale, kernelDecay, adamAlpha, logits, penalty } = TRAIN_INPUTS;

  const masks = spec.dropout > 0 ? spec.hidden.map((_, l) => TRAIN_INPUTS.dropoutMask(l)) : undefined;
  const inputs: GraphIo[] = [
    { name: features, dims: ['rows', spec.inputDim] },
    { name: target, dims: ['rows', spec.classes] },
    { name: rowScale, dims: ['rows', 1] },
    ...(masks ?? []).map((name, l) => ({ name, dims: ['rows', spec.hidden[l]] })),
    ...(withL2 ? [{ name: kernelDecay, dims: [] }] : []),
    ...(optimizer.kind === 'adam' ? [{ name: adamAlpha, dims: [] }] : []),
    ...parameters.map((p) => io(p)),
    ...slots.flatMap((slot) => parameters.map((p) => io(p, slotInput(slot, p)))),
  ];
  const outputs: GraphIo[] = [
    { name: logits, dims: ['rows', spec.classes] },
    ...(withL2 ? [{ name: penalty, dims: [] }] : []),
    ...parameters.map((p) => io(p, nextValue(p.name))),
    ...slots.flatMap((slot) => parameters.map((p) => io(p, nextValue(slotInput(slot, p))))),
  ];
  [...inputs, ...outputs].forEach(({ name }) => g.reserve(name));

  const trace = forward(g, layers, features, masks, logits);
  if (withL2) {
    const squares = layers.flatMap((layer) => layer.kernel.map((part) => g.node('ReduceSumSquare', [part.name], 'kernel_squares', { keepdims: 0 })));
    const sum = squares.length === 1 ? squares[0] : g.node('Sum', squares, 'kernel_squares_sum');
    g.node('Mul', [sum, g.floatConst('l2', [spec.l2], [])], 'penalty', {}, penalty);
  }

  const update = optimizer.kind === 'adam' ? adamUpdate(g, optimizer, withL2) : sgdUpdate(g, optimizer, withL2);
  // d(Σ wᵢ·nllᵢ)/d(logits) × scale / rows = (softmax − onehot) · row_scale (softmax-cross-entropy.ts).
  let dz = g.node('Mul', [g.node('Sub', [g.node('Softmax', [logits], 'probabilities', { axis: 1 }), target], 'delta'), rowScale], 'd_logits');
  const biasAxes = g.int64Const('batch_axis', [0]);
  const columnAxis = layers.some((layer) => layer.kernel.length > 1) ? g.int64Const('column_axis', [1]) : '';
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l];
    const input = trace.inputs[l];
    let column = 0;
    for (const part of layer.kernel) {
      const rows = part.dims[0];
      const dzPart =
        layer.kernel.length === 1
          ? dz
          : g.node('Slice', [dz, g.int64Const('start', [column]), g.int64Const('end', [column + rows]), columnAxis], `dense_${l + 1}/dz_part`);
      column += rows;
      update.kernel(part, dzPart, input);
    }
    update.bias(layer.bias, g.node('ReduceSum', [dz, biasAxes], `dense_${l + 1}/bias_gradient`, { keepdims: 0 }));
    if (l > 0) {
      // d(input) = dZ · Wᵀ with the weights before this update (a hidden layer's kernel is small).
      const kernel = layer.kernel.length === 1 ? layer.kernel[0].name : g.node('Concat', layer.kernel.map((p) => p.name), `dense_${l + 1}/kernelT`, { axis: 0 });
      dz = g.node('Mul', [g.node('MatMul', [dz, kernel], `dense_${l}/d_output`), trace.gates[l - 1]], `dense_${l}/dz`);
    }
  }
  return encodeGraph(g, 'featx-head-training-step', inputs, outputs, OPSET);
}

interface PartUpdate {
  /** Updates kernel part `part` from its gradient dZ_partᵀ·input (computed here, fused where possible). */
  kernel(part: ParameterPart, dzPart: string, input: string): void;
  bias(part: ParameterPart, gradient: string): void;
}

/**
 * Keras SGD with −lr_t folded into dZ (optimizers.ts): v' = m·v + g', w' = w + v'; without momentum
 * w' = w + g'. The kernel's g' (+ 2λ·scale·w) comes straight out of Gemm's "+ β·C".
 */
function sgdUpdate(g: OnnxGraphBuilder, optimizer: Required<Extract<ResolvedOptimizerSpec, { kind: 'sgd' }>>, withL2: boolean): PartUpdate {
  const momentum = optimizer.momentum;
  const momentumConst = momentum > 0 ? g.floatConst('momentum', [momentum], []) : '';
  const decayed = (w: string) => g.node('Mul', [w, TRAIN_INPUTS.kernelDecay], 'kernel_decay_term');
  return {
    kernel(part, dzPart, input) {
      const w = part.name;
      if (momentum > 0) {
        const v = slotInput('velocity', part);
        const accumulated = withL2 ? g.node('Add', [g.node('Mul', [v, momentumConst], 'v_decayed'), decayed(w)], 'v_and_decay') : v;
        const vNext = g.node('Gemm', [dzPart, input, accumulated], 'v_next', { transA: 1, beta: { float: withL2 ? 1 : momentum } }, nextValue(v));
        g.node('Add', [w, vNext], 'w_next', {}, nextValue(w));
      } else {
        const base = withL2 ? g.node('Add', [w, decayed(w)], 'w_and_decay') : w;
        g.node('Gemm', [dzPart, input, base], 'w_next', { transA: 1, beta: { float: 1 } }, nextValue(w));
      }
    },
    bias(part, gradient) {
      const b = part.name;
      if (momentum > 0) {
        const v = slotInput('velocity', part);
        const vNext = g.node('Add', [g.node('Mul', [v, momentumConst], 'v_decayed'), gradient], 'v_next', {}, nextValue(v));
        g.node('Add', [b, vNext], 'b_next', {}, nextValue(b));
      } else {
        g.node('Add', [b, gradient], 'b_next', {}, nextValue(b));
      }
    },
  };
}

/** Keras Adam as optimizers.ts: m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g², w' = w − α·m'/(√v' + ε). */
function adamUpdate(g: OnnxGraphBuilder, optimizer: Required<Extract<ResolvedOptimizerSpec, { kind: 'adam' }>>, withL2: boolean): PartUpdate {
  const c = (name: string, value: number) => g.floatConst(name, [value], []);
  const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon] = [
    c('beta1', optimizer.beta1),
    c('one_minus_beta1', 1 - optimizer.beta1),
    c('beta2', optimizer.beta2),
    c('one_minus_beta2', 1 - optimizer.beta2),
    c('epsilon', optimizer.epsilon),
  ];
  const step = (part: ParameterPart, gradient: string) => {
    const [w, m, v] = [part.name, slotInput('m', part), slotInput('v', part)];
    const mNext = g.node('Add', [g.node('Mul', [m, beta1], 'm_decayed'), g.node('Mul', [gradient, oneMinusBeta1], 'm_fresh')], 'm_next', {}, nextValue(m));
    const squared = g.node('Mul', [gradient, gradient], 'g_squared');
    const vNext = g.node('Add', [g.node('Mul', [v, beta2], 'v_decayed'), g.node('Mul', [squared, oneMinusBeta2], 'v_fresh')], 'v_next', {}, nextValue(v));
    const ratio = g.node('Div', [mNext, g.node('Add', [g.node('Sqrt', [vNext], 'v_root'), epsilon], 'denominator')], 'ratio');
    g.node('Sub', [w, g.node('Mul', [ratio, TRAIN_INPUTS.adamAlpha], 'adam_update')], 'w_next', {}, nextValue(w));
  };
  return {
    kernel(part, dzPart, input) {
      const gradient = g.node('Gemm', [dzPart, input], 'kernel_gradient', { transA: 1 });
      step(part, withL2 ? g.node('Add', [gradient, g.node('Mul', [part.name, TRAIN_INPUTS.kernelDecay], 'kernel_decay_term')], 'kernel_gradient_l2') : gradient);
    },
    bias: step,
  };
}
