import * as tf from '@tensorflow/tfjs';
import { checkedTrainingBatch } from '../batch-check';
import type { HeadRestore, TrainBatchOptions, TrainBatchResult } from '../head';
import { ResolvedHeadSpec, layerUnits } from '../head-spec';
import { logitsSummary } from '../logits';
import { NamedTensor, requireValues } from '../named-tensors';
import { OptimizerSpec, OptimizerView, ResolvedOptimizerSpec, decayedLearningRate, resolveOptimizerSpec, slotNames } from '../optimizers';
import { RowArrayHead } from '../row-array-head';
import { initialKernelT, stepDropoutMasks } from '../seeded-random';
import { DenseAddon, KernelForward, requireDenseAddon } from './dense-addon';

/**
 * A head trained by oneDNN through featx_dense.node (engine 'onednn' of createHead): the math of
 * dense-network.ts and optimizers.ts (as onnx/training-graph.ts has it, op for op), on weights and
 * optimizer slots that live in Float32Arrays allocated once and updated in place.
 *
 * Layout: kernels [units, inputs] as the other engines store them; each layer's input A [rows,
 * inputs] row-major (the caller's batch itself for the first layer), its pre-activation and gradient
 * transposed, Zᵀ and dZᵀ [units, rows]: forward Zᵀ = W·Aᵀ, input gradient dAᵀ = Wᵀ·dZᵀ, kernel
 * gradient dZᵀ·A, each a form oneDNN runs at full speed at the tutorial's shapes (transposing the
 * batch first made neither GEMM faster here).
 *
 * One pass over each kernel a step: a step's kernel updates are not applied at its end but kept
 * (dZᵀ, and the layer's input, which the forward pass copied as it went: 12.8 MB for the tutorial's
 * batch) and applied in the layer's next forward pass, tile by tile, each tile's update and then
 * its forward product while it is in cache (featx_dense.cc, kernel passes); the L2 penalty's Σw²
 * is read in the same pass. The arithmetic is the immediate update's, operation for operation:
 * anything that reads the weights (parameters(), optimizer.state(), evaluation, prediction)
 * applies what is pending first, and a head read after every step takes exactly the steps of one
 * never read (tested). 6-12% faster a step than updating at the end of the step, here (the
 * forward GEMM is compute-bound, so reading the kernel a second time cost little). Biases and
 * the logits' few values a row are done here in JavaScript, with float32 rounding where TF.js
 * rounds.
 *
 * Checkpoints and exports see the usual `dense_<n>/kernelT` / `dense_<n>/bias` and `<slot>/<parameter>`
 * tensors, TF.js copies built on demand and kept until the next step.
 */
export class OnednnHead extends RowArrayHead {
  readonly optimizer: OptimizerView;
  private readonly addon: DenseAddon;
  protected readonly optimizerSpec: ResolvedOptimizerSpec;
  private readonly slots: string[];
  private readonly layers: DenseLayerValues[];
  private workspace?: Workspace;
  protected steps: number;
  /** TF.js copies handed out by parameters()/state(), valid until the next update. */
  private views?: Map<string, tf.Tensor>;
  /** A trainBatchAsync pass is running on a worker thread. */
  private passOut = false;

  constructor(
    readonly spec: ResolvedHeadSpec,
    readonly seed: number,
    optimizer: OptimizerSpec,
    restore?: HeadRestore,
    /** Kernel columns per tile of a fused update; other values only to measure or to test the tiles' seams. */
    private readonly chunkColumns = CHUNK_COLUMNS,
  ) {
    super();
    this.addon = requireDenseAddon();
    this.optimizerSpec = resolveOptimizerSpec(optimizer);
    this.slots = slotNames(this.optimizerSpec);
    this.steps = restore?.step ?? 0;
    const restored = (name: string, size: number) => sized(requireValues(restore!.values, name), name, size).slice();
    let inputs = spec.inputDim;
    this.layers = layerUnits(spec).map((units, l) => {
      const kernelName = `dense_${l + 1}/kernelT`;
      const biasName = `dense_${l + 1}/bias`;
      const size = units * inputs;
      const slot = (parameter: string, length: number) => (slot: string) => (restore ? restored(`${slot}/${parameter}`, length) : new Float32Array(length));
      const layer: DenseLayerValues = {
        inputs,
        units,
        kernelName,
        biasName,
        kernel: restore ? restored(kernelName, size) : initialKernelT(seed, l, inputs, units),
        bias: restore ? restored(biasName, units) : new Float32Array(units),
        kernelSlots: this.slots.map(slot(kernelName, size)),
        biasSlots: this.slots.map(slot(biasName, units)),
      };
      inputs = units;
      return layer;
    });
    const { learningRate, decay } = this.optimizerSpec;
    this.optimizer = {
      spec: this.optimizerSpec,
      learningRateAt: (step) => decayedLearningRate(learningRate, decay, step),
      state: () => {
        this.applyPendingUpdates();
        return this.slots.flatMap((slot, s) =>
          this.layers.flatMap((layer) => [
            this.view(`${slot}/${layer.kernelName}`, layer.kernelSlots[s], [layer.units, layer.inputs]),
            this.view(`${slot}/${layer.biasName}`, layer.biasSlots[s], [layer.units]),
          ]),
        );
      },
    };
  }

  trainBatch(features: Float32Array, labels: Int32Array, options: TrainBatchOptions = {}): TrainBatchResult {
    const step = this.startStep(features, labels, options);
    return this.finishStep(step, this.forward(features, step.rows, step.work, step.masks, this.spec.l2 > 0, true, options.featuresKeptUntilNextStep));
  }

  /**
   * trainBatch with the first layer's pass (its pending update and this batch's forward product:
   * nearly all of the step's time on a large input) on a libuv worker thread, so that the
   * JavaScript thread reads and decodes the next batch meanwhile. The same arithmetic, bit for bit.
   * `features` may not change, and the head may not be used, until the promise settles.
   */
  async trainBatchAsync(features: Float32Array, labels: Int32Array, options: TrainBatchOptions = {}): Promise<TrainBatchResult> {
    const step = this.startStep(features, labels, options);
    return this.finishStep(step, await this.forwardAsync(features, step.rows, step.work, step.masks, this.spec.l2 > 0, true, options.featuresKeptUntilNextStep));
  }

  private startStep(features: Float32Array, labels: Int32Array, options: TrainBatchOptions): StepStart {
    this.checkIdle();
    const { rows, sampleWeights } = checkedTrainingBatch(features, labels, this.spec, options.classWeights);
    const { hidden, dropout } = this.spec;
    return { labels, rows, sampleWeights, work: this.workspaceFor(rows), masks: stepDropoutMasks(this.seed, this.steps, rows, hidden, dropout) };
  }

  /** The loss, the backward pass and the updates (each kernel's deferred to its next pass) of a step whose forward has run. */
  private finishStep({ labels, rows, sampleWeights, work }: StepStart, { logitsT, squares, kept }: ForwardResult): TrainBatchResult {
    const { classes, l2 } = this.spec;
    const summary = logitsSummary(rowMajor(logitsT, classes, rows, work.logits), labels, classes, sampleWeights);

    // SGD folds −lr_t into the upstream gradient (optimizers.ts); Adam takes the plain gradient.
    const scale = this.optimizerSpec.kind === 'sgd' ? -this.learningRate : 1;
    const last = this.layers.length - 1;
    const dLogitsT = work.dzT[last].subarray(0, classes * rows);
    // d(Σ wᵢ·nllᵢ)/d(logits) × scale / rows = (softmax − onehot) · wᵢ · scale / rows (softmax-cross-entropy.ts).
    for (let r = 0; r < rows; r++) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, logitsT[c * rows + r]);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += exp(logitsT[c * rows + r] - max);
      const logSumExp = max + log(sum);
      const rowScale = ((sampleWeights ? sampleWeights[r] : 1) * scale) / rows;
      for (let c = 0; c < classes; c++) dLogitsT[c * rows + r] = (exp(logitsT[c * rows + r] - logSumExp) - (labels[r] === c ? 1 : 0)) * rowScale;
    }

    // L2: λ·Σw² is in the loss, so 2λ·w (times the gradient scale) is in each kernel's gradient.
    const kernelDecay = l2 > 0 ? 2 * l2 * scale : 0;
    const step = this.stepConstants();
    for (let l = last; l >= 0; l--) {
      const layer = this.layers[l];
      const dzT = work.dzT[l].subarray(0, layer.units * rows);
      const biasGradient = rowSums(dzT, layer.units, rows, work.biasGradient);
      // d(input) = Wᵀ·dZᵀ with the weights the forward used, then through the layer below's gate.
      const below = l > 0 ? work.dzT[l - 1].subarray(0, layer.inputs * rows) : undefined;
      if (below) this.addon.gemm(true, false, layer.inputs, rows, layer.units, 1, layer.kernel, layer.inputs, dzT, rows, 0, below, rows);
      deferUpdate(layer, dzT, kept[l], rows, kernelDecay, step);
      updateBias(layer, biasGradient, this.optimizerSpec, step);
      if (below) multiplyInPlace(below, work.gates[l - 1]);
    }
    this.dropViews();
    this.steps += 1;
    return { loss: summary.weightedLossSum / rows + l2 * squares, correct: summary.correct };
  }

  parameters(): NamedTensor[] {
    this.applyPendingUpdates();
    return this.layers.flatMap((layer) => [this.view(layer.kernelName, layer.kernel, [layer.units, layer.inputs]), this.view(layer.biasName, layer.bias, [layer.units])]);
  }

  dispose(): void {
    this.dropViews();
    this.workspace = undefined;
    this.layers.forEach((layer) => {
      layer.pending = undefined;
      layer.pendingArrays = undefined;
    });
  }

  /**
   * The forward pass of `rows` rows: per layer Zᵀ = W·Aᵀ + b — in one pass with the kernel's
   * pending update, if any — and, below the last, A = (Zᵀ·gate)ᵀ with gate = step(Zᵀ)·mask
   * (relu(z)·mask, the gate kept for the backward pass, as dense-network.ts). Returns the logits,
   * transposed ([classes, rows]), Σw² of the kernels it used when `squares`, and, when `training`,
   * each layer's input as the pass copied it (the first layer's: `features` themselves where
   * `featuresKept`) for this step's deferred updates.
   */
  private forward(features: Float32Array, rows: number, work: Workspace, masks: Float32Array[] | undefined, squares: boolean, training: boolean, featuresKept = false): ForwardResult {
    const first = this.firstLayerForward(features, rows, work, squares, training, featuresKept);
    return this.forwardOnwards(first, this.kernelPass(this.layers[0], first), rows, work, masks, squares, training);
  }

  /** forward, with the first layer's pass on a worker thread (trainBatchAsync). */
  private async forwardAsync(features: Float32Array, rows: number, work: Workspace, masks: Float32Array[] | undefined, squares: boolean, training: boolean, featuresKept = false): Promise<ForwardResult> {
    const first = this.firstLayerForward(features, rows, work, squares, training, featuresKept);
    const layer = this.layers[0];
    this.passOut = true;
    let sum: number;
    try {
      sum = layer.pending ? await this.applyUpdateAsync(layer, first) : await this.addon.kernelForwardAsync(layer.kernel, layer.units, layer.inputs, this.chunkColumns, first);
    } finally {
      this.passOut = false;
    }
    return this.forwardOnwards(first, sum, rows, work, masks, squares, training);
  }

  /**
   * The first layer's forward. Training, the pass copies its input for the deferred update, unless
   * the caller keeps the features until the next step (featuresKeptUntilNextStep): then the update
   * reads them in place (forwardOnwards).
   */
  private firstLayerForward(input: Float32Array, rows: number, work: Workspace, squares: boolean, training: boolean, featuresKept: boolean): KernelForward {
    const layer = this.layers[0];
    return { input, rows, zT: work.zT[0].subarray(0, layer.units * rows), squares, keep: training && !featuresKept ? freeInputArray(layer, rows) : null };
  }

  /**
   * The forward pass of `rows` rows once the first layer's kernel pass (`first`, whose Σw² is
   * `firstSquares`) has run: per layer Zᵀ = W·Aᵀ + b — in one pass with the kernel's pending
   * update, if any — and, below the last, A = (Zᵀ·gate)ᵀ with gate = step(Zᵀ)·mask (relu(z)·mask,
   * the gate kept for the backward pass, as dense-network.ts). Returns the logits, transposed
   * ([classes, rows]), Σw² of the kernels it used when `squares`, and, when `training`, each
   * layer's input as the pass copied it (the first layer's: its input itself where the pass made
   * no copy) for this step's deferred updates.
   */
  private forwardOnwards(
    first: KernelForward,
    firstSquares: number,
    rows: number,
    work: Workspace,
    masks: Float32Array[] | undefined,
    squares: boolean,
    training: boolean,
  ): ForwardResult {
    let sum = 0;
    const kept: Float32Array[] = [];
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const layer = this.layers[l];
      const { units, bias } = layer;
      const zT = work.zT[l].subarray(0, units * rows);
      const keep = l === 0 ? first.keep : training ? freeInputArray(layer, rows) : null;
      sum += l === 0 ? firstSquares : this.kernelPass(layer, { input: work.activations[l - 1].subarray(0, rows * layer.inputs), rows, zT, squares, keep });
      // The first layer's input for its deferred update: the pass's copy, or the caller's features in place.
      const keptInput = l === 0 && training ? (keep ?? first.input) : keep;
      if (keptInput) kept.push(keptInput);
      for (let u = 0; u < units; u++) for (let i = u * rows, end = i + rows; i < end; i++) zT[i] += bias[u];
      if (l === last) return { logitsT: zT, squares: sum, kept };
      const gate = work.gates[l];
      const activation = work.activations[l];
      const mask = masks?.[l];
      for (let u = 0; u < units; u++) {
        for (let r = 0; r < rows; r++) {
          const i = u * rows + r;
          const z = zT[i];
          const g = z > 0 ? (mask ? mask[r * units + u] : 1) : 0;
          gate[i] = g;
          activation[r * units + u] = z * g;
        }
      }
    }
    throw new Error('a head has at least one layer');
  }

  /** Logits [rows, classes] of any number of rows, in blocks of at most max(INFERENCE_ROWS, the largest training batch). */
  protected logits(features: Float32Array, rows: number): Float32Array {
    this.checkIdle();
    this.applyPendingUpdates();
    const { inputDim, classes } = this.spec;
    const block = Math.min(rows, Math.max(INFERENCE_ROWS, this.workspace?.capacity ?? 0));
    const work = this.workspaceFor(block);
    const logits = new Float32Array(rows * classes);
    for (let first = 0; first < rows; first += block) {
      const count = Math.min(block, rows - first);
      const { logitsT } = this.forward(features.subarray(first * inputDim, (first + count) * inputDim), count, work, undefined, false, false);
      rowMajor(logitsT, classes, count, logits.subarray(first * classes, (first + count) * classes));
    }
    return logits;
  }

  private stepConstants(): StepConstants {
    const lr = this.learningRate;
    if (this.optimizerSpec.kind === 'sgd') return { momentum: this.optimizerSpec.momentum, alpha: 0 };
    // Keras: α = lr_t·√(1 − β2ᵗ)/(1 − β1ᵗ), the bias corrections folded into the step size.
    const { beta1, beta2 } = this.optimizerSpec;
    const t = this.steps + 1;
    return { momentum: 0, alpha: (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t) };
  }

  /** A layer's forward product, in one pass with its pending update if it has one; Σw² of the weights used when forward.squares. */
  private kernelPass(layer: DenseLayerValues, forward: KernelForward): number {
    if (layer.pending) return this.applyUpdate(layer, forward);
    return this.addon.kernelForward(layer.kernel, layer.units, layer.inputs, this.chunkColumns, forward);
  }

  /** The layer's pending kernel update (native: gradient GEMM and optimizer), then `forward` if given, in one pass. */
  private applyUpdate(layer: DenseLayerValues, forward: KernelForward | null): number {
    const squares = this.optimizerSpec.kind === 'sgd' ? this.addon.sgdKernelUpdate(...this.sgdArguments(layer, forward)) : this.addon.adamKernelUpdate(...this.adamArguments(layer, forward));
    layer.pending = undefined;
    return squares;
  }

  /** applyUpdate on a worker thread. */
  private async applyUpdateAsync(layer: DenseLayerValues, forward: KernelForward): Promise<number> {
    const squares = await (this.optimizerSpec.kind === 'sgd'
      ? this.addon.sgdKernelUpdateAsync(...this.sgdArguments(layer, forward))
      : this.addon.adamKernelUpdateAsync(...this.adamArguments(layer, forward)));
    layer.pending = undefined;
    return squares;
  }

  private sgdArguments(layer: DenseLayerValues, forward: KernelForward | null): Parameters<DenseAddon['sgdKernelUpdate']> {
    const { units, inputs, kernel, kernelSlots } = layer;
    const update = layer.pending!;
    return [kernel, kernelSlots[0] ?? null, update.dzT, update.input, units, inputs, update.rows, update.step.momentum, update.kernelDecay, this.chunkColumns, forward];
  }

  private adamArguments(layer: DenseLayerValues, forward: KernelForward | null): Parameters<DenseAddon['adamKernelUpdate']> {
    const { units, inputs, kernel, kernelSlots } = layer;
    const update = layer.pending!;
    const { beta1, beta2, epsilon } = this.optimizerSpec as Extract<ResolvedOptimizerSpec, { kind: 'adam' }>;
    return [kernel, kernelSlots[0], kernelSlots[1], update.dzT, update.input, units, inputs, update.rows, update.step.alpha, beta1, beta2, epsilon, update.kernelDecay, this.chunkColumns, forward];
  }

  /** While trainBatchAsync's pass is out, the weights and the workspace are the worker thread's. */
  private checkIdle(): void {
    if (this.passOut) throw new Error('this onednn head is still running a step: await trainBatchAsync before using the head again');
  }

  /** Applies every kernel update still pending (before anything reads the weights). */
  private applyPendingUpdates(): void {
    this.checkIdle();
    const pending = this.layers.filter((layer) => layer.pending);
    if (pending.length === 0) return;
    pending.forEach((layer) => this.applyUpdate(layer, null));
    this.dropViews();
  }

  /** Scratch arrays for batches of up to `rows` rows, kept between steps (grown when a batch is larger). */
  private workspaceFor(rows: number): Workspace {
    if (!this.workspace || this.workspace.capacity < rows) this.workspace = new Workspace(rows, this.layers);
    return this.workspace;
  }

  /** A TF.js tensor of a parameter or slot, cached until the next step. */
  private view(name: string, values: Float32Array, shape: number[]): NamedTensor {
    this.views ??= new Map();
    let tensor = this.views.get(name);
    if (!tensor) {
      tensor = tf.tensor(values, shape, 'float32');
      this.views.set(name, tensor);
    }
    return { name, tensor };
  }

  private dropViews(): void {
    this.views?.forEach((tensor) => tensor.dispose());
    this.views = undefined;
  }
}

/**
 * Inputs per column chunk of a fused kernel update: a 256-unit tile of the kernel and of one slot is
 * 2 × 512 KB, in the core's L2 from its GEMM to its update. Measured on the tutorial step (bench/
 * train-engines.ts): 256 and 1,024 were no faster.
 */
export const CHUNK_COLUMNS = 512;

/** Rows per forward pass at inference: the workspace (≈ 20 bytes per row and unit) stays small for any evaluation batch. */
const INFERENCE_ROWS = 256;

// Module-level bindings: global lookups (Math) are slow inside jest's vm context.
const { exp, log, fround, sqrt } = Math;

/** What a training step has checked and prepared before its forward pass. */
interface StepStart {
  labels: Int32Array;
  rows: number;
  sampleWeights: Float32Array | undefined;
  work: Workspace;
  masks: Float32Array[] | undefined;
}

interface ForwardResult {
  /** [classes, rows]. */
  logitsT: Float32Array;
  squares: number;
  kept: Float32Array[];
}

interface DenseLayerValues {
  inputs: number;
  units: number;
  kernelName: string;
  biasName: string;
  /** [units, inputs], updated in place. */
  kernel: Float32Array;
  bias: Float32Array;
  /** The optimizer's slots of the kernel and of the bias, in slotNames order. */
  kernelSlots: Float32Array[];
  biasSlots: Float32Array[];
  /** The kernel update of the last step, until the next forward pass (or a read) applies it. */
  pending?: PendingUpdate;
  /**
   * Where pending updates keep their dZᵀ and input, allocated once (grown for a larger batch). Up to
   * two input arrays, made when first needed: a training forward copies its input into the one the
   * pending update (which it applies) does not read; none where callers keep their features.
   */
  pendingArrays?: { dzT: Float32Array; inputs: Float32Array[]; rows: number };
}

/** A training step's kernel update, kept for the layer's next pass over its kernel. */
interface PendingUpdate {
  rows: number;
  /** dZᵀ [units, rows], −lr_t and the row scale folded in for SGD. */
  dzT: Float32Array;
  /** The layer's input [rows, inputs] in that step. */
  input: Float32Array;
  kernelDecay: number;
  step: StepConstants;
}

interface StepConstants {
  momentum: number;
  /** Adam's step size with the bias corrections folded in. */
  alpha: number;
}

/** Per-batch arrays for up to `capacity` rows. */
class Workspace {
  /** Per layer, its pre-activation Zᵀ [units, rows]. */
  readonly zT: Float32Array[];
  /** Per hidden layer, ReLU'(z)·mask [units, rows], and its output A = (Zᵀ·gate)ᵀ [rows, units], the next layer's input. */
  readonly gates: Float32Array[];
  readonly activations: Float32Array[];
  /** Per layer, d(loss)/dZᵀ [units, rows] (the layer below's is written by the layer above). */
  readonly dzT: Float32Array[];
  /** Logits row by row, [rows, classes]. */
  readonly logits: Float32Array;
  readonly biasGradient: Float32Array;

  constructor(
    readonly capacity: number,
    layers: DenseLayerValues[],
  ) {
    this.zT = layers.map((layer) => new Float32Array(layer.units * capacity));
    const hidden = layers.slice(0, -1);
    this.gates = hidden.map((layer) => new Float32Array(layer.units * capacity));
    this.activations = hidden.map((layer) => new Float32Array(layer.units * capacity));
    this.dzT = layers.map((layer) => new Float32Array(layer.units * capacity));
    this.logits = new Float32Array(capacity * layers[layers.length - 1].units);
    this.biasGradient = new Float32Array(Math.max(...layers.map((layer) => layer.units)));
  }
}

/**
 * The array a training forward copies the layer's input into (the pass makes the copy while the
 * input is in cache: the caller's batch may change once trainBatch returns): of the layer's two,
 * the one its pending update does not read.
 */
function freeInputArray(layer: DenseLayerValues, rows: number): Float32Array {
  const arrays = pendingArraysFor(layer, rows);
  const busy = layer.pending?.input.buffer;
  let free = arrays.inputs.find((array) => array.buffer !== busy);
  if (!free) arrays.inputs.push((free = new Float32Array(arrays.rows * layer.inputs)));
  return free.subarray(0, rows * layer.inputs);
}

/** The layer's arrays for pending updates of `rows` rows, made or grown if needed. */
function pendingArraysFor(layer: DenseLayerValues, rows: number): NonNullable<DenseLayerValues['pendingArrays']> {
  if (!layer.pendingArrays || layer.pendingArrays.rows < rows) layer.pendingArrays = { dzT: new Float32Array(layer.units * rows), inputs: [], rows };
  return layer.pendingArrays;
}

/** Keeps a step's kernel update for the layer's next pass: dZᵀ copied, the input as the forward kept it. */
function deferUpdate(layer: DenseLayerValues, dzT: Float32Array, input: Float32Array, rows: number, kernelDecay: number, step: StepConstants): void {
  const keptDzT = pendingArraysFor(layer, rows).dzT.subarray(0, dzT.length);
  keptDzT.set(dzT);
  layer.pending = { rows, dzT: keptDzT, input, kernelDecay, step };
}

/** [rows, columns] of a [columns, rows] matrix, written into `into`. */
function rowMajor(transposed: Float32Array, columns: number, rows: number, into: Float32Array): Float32Array {
  for (let c = 0; c < columns; c++) for (let r = 0; r < rows; r++) into[r * columns + c] = transposed[c * rows + r];
  return into.subarray(0, rows * columns);
}

/** Σ over each row of a [units, rows] matrix: the bias gradient of dZᵀ. */
function rowSums(matrix: Float32Array, units: number, rows: number, into: Float32Array): Float32Array {
  for (let u = 0; u < units; u++) {
    let sum = 0;
    for (let i = u * rows, end = i + rows; i < end; i++) sum += matrix[i];
    into[u] = sum;
  }
  return into.subarray(0, units);
}

function multiplyInPlace(values: Float32Array, by: Float32Array): void {
  for (let i = 0; i < values.length; i++) values[i] *= by[i];
}

/**
 * A bias's update, as optimizers.ts (a few values a layer): float32 rounding after each operation,
 * where TF.js rounds. `gradient` carries −lr_t for SGD.
 */
function updateBias(layer: DenseLayerValues, gradient: Float32Array, optimizer: ResolvedOptimizerSpec, step: StepConstants): void {
  const { bias, biasSlots } = layer;
  if (optimizer.kind === 'sgd') {
    const velocity = biasSlots[0];
    const momentum = fround(step.momentum);
    for (let u = 0; u < bias.length; u++) {
      if (!velocity) {
        bias[u] += gradient[u];
        continue;
      }
      velocity[u] = fround(velocity[u] * momentum) + gradient[u]; // v = m·v − lr_t·g
      bias[u] += velocity[u]; // w += v
    }
    return;
  }
  const [m, v] = biasSlots;
  const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, alpha] = [optimizer.beta1, 1 - optimizer.beta1, optimizer.beta2, 1 - optimizer.beta2, optimizer.epsilon, step.alpha].map(fround);
  for (let u = 0; u < bias.length; u++) {
    const g = gradient[u];
    m[u] = fround(m[u] * beta1) + fround(g * oneMinusBeta1);
    v[u] = fround(v[u] * beta2) + fround(fround(g * g) * oneMinusBeta2);
    bias[u] -= fround(fround(m[u] / fround(fround(sqrt(v[u])) + epsilon)) * alpha);
  }
}

function sized(values: Float32Array, name: string, size: number): Float32Array {
  if (values.length !== size) throw new RangeError(`'${name}' has ${values.length} values, expected ${size}`);
  return values;
}
