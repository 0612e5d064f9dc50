import * as tf from '@tensorflow/tfjs';
import { Tensor } from 'onnxruntime-node';
import { checkedTrainingBatch } from '../batch-check';
import type { HeadRestore, TrainBatchOptions, TrainBatchResult } from '../head';
import { ResolvedHeadSpec } from '../head-spec';
import { NamedTensor, requireValues } from '../named-tensors';
import { OptimizerSpec, OptimizerView, ResolvedOptimizerSpec, decayedLearningRate, resolveOptimizerSpec, slotNames } from '../optimizers';
import { RowArrayHead } from '../row-array-head';
import { initialKernelT, stepDropoutMasks } from '../seeded-random';
import { logitsSummary } from '../logits';
import { floatTensor, openSyncSession, SyncSession } from './sync-session';
import { LayerParts, PART_FLOATS, ParameterPart, TRAIN_INPUTS, inferenceGraph, layerParts, nextValue, slotInput, trainingGraph } from './training-graph';

/**
 * A head trained by ONNX Runtime (engine 'onnx' of createHead): the generated step graph of
 * training-graph.ts, run synchronously on the calling thread with one intra-op thread per core.
 *
 * Weights and optimizer slots live in Float32Arrays, one per part (training-graph.ts), fed to ORT
 * without a copy; each step's updated values are the arrays onnxruntime-node returns, adopted as
 * they are. (Pre-allocated outputs would not save the copy: the binding copies into a new buffer
 * regardless.) Checkpoints and exports see the usual `dense_<n>/kernelT` / `dense_<n>/bias` and
 * `<slot>/<parameter>` tensors, put together from the parts on demand.
 */
export class OnnxHead extends RowArrayHead {
  readonly optimizer: OptimizerView;
  private readonly layers: LayerParts[];
  private readonly parts: ParameterPart[];
  private readonly slots: string[];
  protected readonly optimizerSpec: ResolvedOptimizerSpec;
  /** Graph input name → its current value. */
  private readonly values = new Map<string, Float32Array>();
  private readonly dims = new Map<string, number[]>();
  private readonly training: SyncSession;
  private readonly inference: SyncSession;
  protected steps: number;
  /** TF.js copies handed out by parameters()/state(), valid until the next update. */
  private views?: Map<string, tf.Tensor>;

  constructor(
    readonly spec: ResolvedHeadSpec,
    readonly seed: number,
    optimizer: OptimizerSpec,
    restore?: HeadRestore,
    /** Largest part of a kernel (training-graph.ts); smaller only to test the parts' seams. */
    partFloats = PART_FLOATS,
  ) {
    super();
    this.optimizerSpec = resolveOptimizerSpec(optimizer);
    this.steps = restore?.step ?? 0;
    this.layers = layerParts(spec, partFloats);
    this.parts = this.layers.flatMap((layer) => [...layer.kernel, layer.bias]);
    this.slots = slotNames(this.optimizerSpec);
    this.layers.forEach((layer, l) => {
      const kernelName = layer.kernel[0].parameter;
      const kernel = restore ? sized(requireValues(restore.values, kernelName), kernelName, layer.units * layer.inputs) : initialKernelT(seed, l, layer.inputs, layer.units);
      const bias = restore ? sized(requireValues(restore.values, layer.bias.parameter), layer.bias.parameter, layer.units) : new Float32Array(layer.units);
      this.store(layer.kernel, kernel, (part) => part.name);
      this.store([layer.bias], bias, (part) => part.name);
    });
    for (const slot of this.slots) {
      for (const layer of this.layers) {
        for (const group of [layer.kernel, [layer.bias]]) {
          const name = `${slot}/${group[0].parameter}`;
          const size = group.reduce((sum, part) => sum + part.dims[0] * (part.dims[1] ?? 1), 0);
          this.store(group, restore ? sized(requireValues(restore.values, name), name, size) : new Float32Array(size), (part) => slotInput(slot, part));
        }
      }
    }
    this.training = openSyncSession(trainingGraph(spec, this.optimizerSpec, partFloats));
    this.inference = openSyncSession(inferenceGraph(spec, partFloats));
    const { learningRate, decay } = this.optimizerSpec;
    this.optimizer = {
      spec: this.optimizerSpec,
      learningRateAt: (step) => decayedLearningRate(learningRate, decay, step),
      state: () => this.slots.flatMap((slot) => this.parameterGroups().map((group) => this.view(`${slot}/${group[0].parameter}`, group, (part) => slotInput(slot, part)))),
    };
  }

  trainBatch(features: Float32Array, labels: Int32Array, options: TrainBatchOptions = {}): TrainBatchResult {
    const { rows, sampleWeights } = checkedTrainingBatch(features, labels, this.spec, options.classWeights);
    const { inputDim, classes, hidden, dropout, l2 } = this.spec;
    const lr = this.learningRate;
    // SGD folds −lr_t into the upstream gradient (optimizers.ts); Adam takes the plain gradient.
    const scale = this.optimizerSpec.kind === 'sgd' ? -lr : 1;
    const target = new Float32Array(rows * classes);
    const rowScale = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      target[r * classes + labels[r]] = 1;
      rowScale[r] = ((sampleWeights ? sampleWeights[r] : 1) * scale) / rows;
    }
    const feeds: Record<string, Tensor> = {
      [TRAIN_INPUTS.features]: floatTensor(features, [rows, inputDim]),
      [TRAIN_INPUTS.target]: floatTensor(target, [rows, classes]),
      [TRAIN_INPUTS.rowScale]: floatTensor(rowScale, [rows, 1]),
    };
    stepDropoutMasks(this.seed, this.steps, rows, hidden, dropout)?.forEach((mask, l) => (feeds[TRAIN_INPUTS.dropoutMask(l)] = floatTensor(mask, [rows, hidden[l]])));
    if (l2 > 0) feeds[TRAIN_INPUTS.kernelDecay] = floatTensor(Float32Array.of(2 * l2 * scale), []);
    if (this.optimizerSpec.kind === 'adam') {
      const { beta1, beta2 } = this.optimizerSpec;
      const t = this.steps + 1;
      feeds[TRAIN_INPUTS.adamAlpha] = floatTensor(Float32Array.of((lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t)), []);
    }
    const stateInputs = [...this.parts.map((p) => p.name), ...this.slots.flatMap((slot) => this.parts.map((p) => slotInput(slot, p)))];
    for (const name of stateInputs) feeds[name] = floatTensor(this.values.get(name)!, this.dims.get(name)!);

    const results = this.training.run(feeds, Object.fromEntries(this.training.outputNames.map((name) => [name, null])));
    for (const name of stateInputs) this.values.set(name, results[nextValue(name)].data as Float32Array);
    this.dropViews();
    const penalty = l2 > 0 ? (results[TRAIN_INPUTS.penalty].data as Float32Array)[0] : 0;
    const summary = logitsSummary(results[TRAIN_INPUTS.logits].data as Float32Array, labels, classes, sampleWeights);
    this.steps += 1;
    return { loss: summary.weightedLossSum / rows + penalty, correct: summary.correct };
  }

  parameters(): NamedTensor[] {
    return this.parameterGroups().map((group) => this.view(group[0].parameter, group, (part) => part.name));
  }

  dispose(): void {
    this.dropViews();
    this.training.dispose();
    this.inference.dispose();
    this.values.clear();
  }

  protected logits(features: Float32Array, rows: number): Float32Array {
    const feeds: Record<string, Tensor> = { [TRAIN_INPUTS.features]: floatTensor(features, [rows, this.spec.inputDim]) };
    for (const part of this.parts) feeds[part.name] = floatTensor(this.values.get(part.name)!, part.dims);
    return this.inference.run(feeds, { [TRAIN_INPUTS.logits]: null })[TRAIN_INPUTS.logits].data as Float32Array;
  }

  /** Each parameter's parts, in checkpoint order: kernel, bias, layer by layer. */
  private parameterGroups(): ParameterPart[][] {
    return this.layers.flatMap((layer) => [layer.kernel, [layer.bias]]);
  }

  private store(group: ParameterPart[], values: Float32Array, inputOf: (part: ParameterPart) => string): void {
    for (const part of group) {
      const size = part.dims[0] * (part.dims[1] ?? 1);
      this.values.set(inputOf(part), values.slice(part.offset, part.offset + size));
      this.dims.set(inputOf(part), part.dims);
    }
  }

  /** A TF.js tensor of a whole parameter (or slot) put together from its parts, cached until the next step. */
  private view(name: string, group: ParameterPart[], inputOf: (part: ParameterPart) => string): NamedTensor {
    this.views ??= new Map();
    let tensor = this.views.get(name);
    if (!tensor) {
      const shape = group.length === 1 && group[0].dims.length === 1 ? group[0].dims : [group.reduce((rows, part) => rows + part.dims[0], 0), group[0].dims[1]];
      const whole = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (const part of group) whole.set(this.values.get(inputOf(part))!, part.offset);
      tensor = tf.tensor(whole, shape, 'float32');
      this.views.set(name, tensor);
    }
    return { name, tensor };
  }

  private dropViews(): void {
    this.views?.forEach((tensor) => tensor.dispose());
    this.views = undefined;
  }
}

function sized(values: Float32Array, name: string, size: number): Float32Array {
  if (values.length !== size) throw new RangeError(`'${name}' has ${values.length} values, expected ${size}`);
  return values;
}
