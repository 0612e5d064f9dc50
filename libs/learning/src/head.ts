import * as tf from '@tensorflow/tfjs';
import { HEAD_ENGINE_CHOICES, HeadEngine, HeadEngineChoice } from '@featx/contracts';
import { checkedRows, sampleWeightsFor } from './batch-check';
import { DenseLayer, backward, forwardForTraining, inferLogits } from './dense-network';
import { HeadSpec, ResolvedHeadSpec, layerUnits, resolveHeadSpec } from './head-spec';
import { NamedTensor, TensorValues, requireValues, variableOf } from './named-tensors';
import { Optimizer, OptimizerSpec, OptimizerView, TUTORIAL_SGD, createOptimizer } from './optimizers';
import { OnnxHead } from './onnx/onnx-head';
import { denseAddonStatus } from './onednn/dense-addon';
import { OnednnHead } from './onednn/onednn-head';
import { initialKernelT, stepDropoutMasks } from './seeded-random';
import { countCorrect, crossEntropyGradient, crossEntropyTerms } from './softmax-cross-entropy';
import { UploadedBatch } from './uploaded-batch';

export interface TrainBatchOptions {
  /** Per-class loss weights (classWeightsFrom): each row's loss and gradient scaled by its class's weight. */
  classWeights?: Float32Array;
  /**
   * The caller leaves `features` as they are until the step after this one has settled: a head that
   * defers this step's weight update to the next step's pass may then read them in place instead of
   * copying them (the onednn head: a 12.8 MB copy a step at 100,352 values, batch 32).
   */
  featuresKeptUntilNextStep?: boolean;
}

export interface TrainBatchResult {
  /** Mean loss of the batch before the update: Σ wᵢ·nllᵢ / rows, plus the L2 penalty if any. */
  loss: number;
  /** Rows the network classified correctly before the update. */
  correct: number;
}

export interface EvaluateBatchResult {
  /** Σ −log p(label): plain cross-entropy, no class weights, no L2 penalty (comparable across λ). */
  lossSum: number;
  correct: number;
  /** argmax class per row. */
  predicted: Int32Array;
}

/** A small classifier head (MLP or softmax regression) trained one batch at a time. */
export interface TrainableHead {
  readonly spec: ResolvedHeadSpec;
  /** Seed of the initial weights and of every dropout mask. */
  readonly seed: number;
  readonly optimizer: OptimizerView;
  /** Optimizer updates done so far. */
  readonly step: number;
  /** The learning rate of the next update (after time-based decay). */
  readonly learningRate: number;
  /** One optimizer step on the batch. `features` is rows × inputDim, row-major. */
  trainBatch(features: Float32Array, labels: Int32Array, options?: TrainBatchOptions): TrainBatchResult;
  /**
   * The same step, where the engine can run it off the JavaScript thread (onednn): the thread is
   * free meanwhile (see trainedBatches). `features` may not change, and the head may not be used,
   * until the promise settles.
   */
  trainBatchAsync?(features: Float32Array, labels: Int32Array, options?: TrainBatchOptions): Promise<TrainBatchResult>;
  /** trainBatch on a batch already uploaded, which other heads may share (see trainCandidates). */
  trainOn(batch: UploadedBatch, options?: TrainBatchOptions): TrainBatchResult;
  /** Loss and predictions without updating anything. */
  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluateBatchResult;
  /** evaluateBatch on a batch already uploaded, which other heads may share. */
  evaluateOn(batch: UploadedBatch): EvaluateBatchResult;
  /** Softmax probabilities, rows × classes, row-major. */
  predictProba(features: Float32Array): Float32Array;
  /**
   * The network's parameters by name (`dense_<n>/kernelT` [units, inputs], `dense_<n>/bias`), for
   * checkpoints and export. Read them; do not dispose or modify them.
   */
  parameters(): NamedTensor[];
  dispose(): void;
}

/** What a checkpoint gives back to continue exactly where a head was. */
export interface HeadRestore {
  step: number;
  /** Parameters and optimizer state by name. */
  values: TensorValues;
}

export type { HeadEngine, HeadEngineChoice } from '@featx/contracts';
export { HEAD_ENGINES, HEAD_ENGINE_CHOICES } from '@featx/contracts';

export interface HeadOptions {
  /**
   * What runs the numbers (HEAD_ENGINES). `tfjs` (default): TF.js on the active backend (wasm here),
   * the hand-written passes of dense-network.ts. `onnx`: ONNX Runtime's CPU kernels running a
   * generated training-step graph (onnx/training-graph.ts). `onednn`: oneDNN's GEMM and fused
   * updates through the native addon featx_dense.node (onednn/onednn-head.ts; `npm run
   * build:native`). `auto`: the fastest engine this process can load (resolveHeadEngine).
   */
  engine?: HeadEngineChoice;
}

/**
 * The engine `auto` stands for in this process — `onednn` where its addon loads here (it is 4-5x
 * faster than TF.js on the tutorial's step, bench/train-engines.ts), else `tfjs` — and any other
 * choice as it is. The first call with `auto` loads the addon (once per process).
 */
export function resolveHeadEngine(choice: HeadEngineChoice = 'tfjs'): HeadEngine {
  if (!HEAD_ENGINE_CHOICES.includes(choice)) throw new RangeError(`engine must be one of ${HEAD_ENGINE_CHOICES.join(', ')}, got '${String(choice)}'`);
  if (choice !== 'auto') return choice;
  return denseAddonStatus().available ? 'onednn' : 'tfjs';
}

/**
 * Builds a head: Dense layers with ReLU between them and softmax at the end (`mlp`), or a single
 * softmax layer (`logistic`), Glorot-uniform kernels and zero biases like Keras, trained by
 * `optimizer` (default the tutorial's SGD). With `restore` the weights, optimizer state and step
 * come from a checkpoint instead.
 */
export function createHead(spec: HeadSpec, seed = 42, optimizer: OptimizerSpec = TUTORIAL_SGD, restore?: HeadRestore, options: HeadOptions = {}): TrainableHead {
  const engine = resolveHeadEngine(options.engine);
  if (engine === 'onnx') return new OnnxHead(resolveHeadSpec(spec), seed, optimizer, restore);
  if (engine === 'onednn') return new OnednnHead(resolveHeadSpec(spec), seed, optimizer, restore);
  if (engine === 'tfjs') return new DenseHead(resolveHeadSpec(spec), seed, optimizer, restore);
  throw new RangeError(`engine '${engine}' is not available in this process`);
}

class DenseHead implements TrainableHead {
  readonly spec: ResolvedHeadSpec;
  readonly optimizer: Optimizer;
  private readonly layers: DenseLayer[] = [];
  private readonly variables: tf.Variable[] = [];
  private readonly names: string[] = [];
  private steps: number;

  constructor(
    spec: ResolvedHeadSpec,
    readonly seed: number,
    optimizerSpec: OptimizerSpec,
    restore?: HeadRestore,
  ) {
    this.spec = spec;
    this.steps = restore?.step ?? 0;
    let inputs = spec.inputDim;
    layerUnits(spec).forEach((units, l) => {
      const layer = `dense_${l + 1}`;
      const kernelName = `${layer}/kernelT`;
      const biasName = `${layer}/bias`;
      const kernel = restore ? requireValues(restore.values, kernelName) : initialKernelT(seed, l, inputs, units);
      const bias = restore ? requireValues(restore.values, biasName) : undefined;
      const kernelT = variableOf(kernelName, [units, inputs], kernel) as tf.Variable<tf.Rank.R2>;
      const biasVar = variableOf(biasName, [units], bias) as tf.Variable<tf.Rank.R1>;
      this.layers.push({ kernelT, bias: biasVar });
      this.variables.push(kernelT, biasVar);
      this.names.push(kernelName, biasName);
      inputs = units;
    });
    const shapes = this.variables.map((v, i) => ({ name: this.names[i], shape: v.shape }));
    this.optimizer = createOptimizer(optimizerSpec, shapes, restore?.values);
  }

  get step(): number {
    return this.steps;
  }

  get learningRate(): number {
    return this.optimizer.learningRateAt(this.steps);
  }

  trainBatch(features: Float32Array, labels: Int32Array, options: TrainBatchOptions = {}): TrainBatchResult {
    return this.withUpload(features, labels, (batch) => this.trainOn(batch, options));
  }

  trainOn(batch: UploadedBatch, options: TrainBatchOptions = {}): TrainBatchResult {
    const { classes, hidden, dropout, l2 } = this.spec;
    batch.checkFits(this.spec);
    const { rows, labels } = batch;
    const sampleWeights = options.classWeights ? sampleWeightsFor(labels, options.classWeights, classes) : undefined;
    const masks = stepDropoutMasks(this.seed, this.steps, rows, hidden, dropout);
    const scale = this.optimizer.gradientScale(this.steps);

    const summary = tf.tidy(() => {
      const weights = sampleWeights && tf.tensor1d(sampleWeights);
      const trace = forwardForTraining(
        this.layers,
        batch.x,
        masks?.map((mask, l) => tf.tensor2d(mask, [rows, hidden[l]])),
        batch.xT,
      );
      const terms = crossEntropyTerms(trace.logits, batch.y, classes);
      const lossSum = tf.sum(weights ? tf.mul(terms.nll, weights) : terms.nll);
      const correct = countCorrect(trace.logits, batch.y);
      // λ·Σw² with the weights the forward pass used, computed before the update replaces them
      // (each w² freed at once: 100 MB for the tutorial's first layer).
      const penalty = l2 > 0 ? tf.mul(tf.addN(this.layers.map((layer) => tf.tidy(() => tf.sum(tf.square(layer.kernelT))))), l2) : tf.scalar(0);
      const dLogits = crossEntropyGradient(terms, scale / rows, weights);
      const gradients = backward(this.layers, trace, dLogits, 2 * l2 * scale);
      this.optimizer.apply(this.variables, gradients.flatMap((g) => [g.kernelT, g.bias]), this.steps);
      return tf.stack([lossSum, correct, penalty]);
    });
    const [lossSum, correct, penalty] = summary.dataSync();
    summary.dispose();
    this.steps += 1;
    return { loss: lossSum / rows + penalty, correct };
  }

  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluateBatchResult {
    return this.withUpload(features, labels, (batch) => this.evaluateOn(batch));
  }

  evaluateOn(batch: UploadedBatch): EvaluateBatchResult {
    batch.checkFits(this.spec);
    const [summary, predictedTensor] = tf.tidy(() => {
      const logits = inferLogits(this.layers, batch.x, batch.xT);
      const terms = crossEntropyTerms(logits, batch.y, this.spec.classes);
      return [tf.stack([tf.sum(terms.nll), countCorrect(logits, batch.y)]), tf.argMax(logits, 1)];
    });
    const [lossSum, correct] = summary.dataSync();
    const predicted = Int32Array.from(predictedTensor.dataSync());
    summary.dispose();
    predictedTensor.dispose();
    return { lossSum, correct, predicted };
  }

  /** `use` on the batch uploaded for this head alone, disposed afterwards. */
  private withUpload<T>(features: Float32Array, labels: Int32Array, use: (batch: UploadedBatch) => T): T {
    const batch = new UploadedBatch(features, labels, this.spec);
    try {
      return use(batch);
    } finally {
      batch.dispose();
    }
  }

  predictProba(features: Float32Array): Float32Array {
    const rows = checkedRows(features, undefined, this.spec.inputDim, this.spec.classes);
    const probabilities = tf.tidy(() => tf.softmax(inferLogits(this.layers, tf.tensor2d(features, [rows, this.spec.inputDim]))));
    const values = Float32Array.from(probabilities.dataSync());
    probabilities.dispose();
    return values;
  }

  parameters(): NamedTensor[] {
    return this.variables.map((tensor, i) => ({ name: this.names[i], tensor }));
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.optimizer.dispose();
  }
}
