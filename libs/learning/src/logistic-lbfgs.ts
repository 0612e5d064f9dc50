import * as tf from '@tensorflow/tfjs';
import { sampleWeightsFor } from './batch-check';
import { softmaxRows } from './logits';
import { denseAddonStatus } from './onednn/dense-addon';

/**
 * Multinomial logistic regression fit to convergence on rows held in memory: the objective the
 * `logistic` head's steps descend (Σ wᵢ·(−log pᵢ) / rows + l2·Σw², no penalty on the bias), minimized
 * by L-BFGS over all the rows at once instead of by SGD or Adam a batch at a time. The "linear
 * probe" as representation-learning papers run it (scikit-learn's lbfgs): no learning rate, no
 * epochs, no early stopping to tune, and on pooled CNN features the strongest linear head (on
 * clothing-small's pooled MobileNetV2 features, power-normalized: 89.0-89.2% on the evaluation
 * split, against 86-88% for the steps' candidates).
 *
 * Hand-written: npm has no maintained L-BFGS; this one is the textbook two-loop recursion (Nocedal
 * and Wright, algorithm 7.4) with a backtracking Armijo line search, on float64 parameters; the loss
 * and its gradient in float32 over the rows: in one pass where the onednn addon loads (its
 * logisticObjective), else two TF.js products with the softmax here between them.
 *
 * The fit runs on the rows centred (a copy): W·x + b = W·(x − μ) + (b + W·μ) is the same model with
 * the same penalty (the bias is not penalized), but CNN features are non-negative, and their common
 * mean makes the problem ill-conditioned: on clothing-small's power-normalized features centring
 * took fits from 55-100 iterations (three of ten stopped at the cap of 100, short of the optimum) to
 * 24-58, every one converged (raw and power inputs, L2 0.1-0.001).
 */

export interface LogisticFitOptions {
  l2: number;
  /** Per-class loss weights, as a run's class weights. */
  classWeights?: Float32Array;
  /** Most L-BFGS iterations (default 100, as scikit-learn's). */
  maxIterations?: number;
  /** Converged once the gradient's largest component is below this (default 1e-4, as scikit-learn's tol). */
  tolerance?: number;
  /** Where to start (a previous fit's solution: a regularization path converges in fewer iterations); default zeros. */
  start?: LogisticWeights;
  /** What multiplies: `auto` (default) the onednn addon's sgemm where it loads, else TF.js; `tfjs` TF.js always. */
  products?: 'auto' | 'tfjs';
}

export interface LogisticWeights {
  /** [classes, dim], row-major: the head's `dense_1/kernelT`. */
  kernelT: Float32Array;
  bias: Float32Array;
}

export interface LogisticFit extends LogisticWeights {
  /** The objective at the solution (mean weighted cross-entropy plus the L2 penalty). */
  loss: number;
  /** Accuracy on the rows fit. */
  accuracy: number;
  iterations: number;
  converged: boolean;
}

/** Rows held in memory: features [rows, dim] row-major, labels in [0, classes). */
export interface InMemoryRows {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
  dim: number;
  classes: number;
}

/** Past corrections L-BFGS keeps. */
const MEMORY = 10;

export function fitLogisticRegression(data: InMemoryRows, options: LogisticFitOptions): LogisticFit {
  const { l2, ...rest } = options;
  return fitLogisticPath(data, [l2], rest)[0];
}

/**
 * A regularization path: one fit per strength of `l2s`, in that order, each starting from the
 * previous solution (the first from options.start); fits the same as fitLogisticRegression called
 * strength by strength, but the rows are checked and centred once, not once a strength (a copy of
 * the rows each: 256 MiB for a sample of a large split). `beforeFit` runs before each (a run's
 * cancellation check). `centreInPlace`: the rows are the caller's own copy, centred where they are
 * (they come back centred) instead of copied.
 */
export function fitLogisticPath(data: InMemoryRows, l2s: readonly number[], options: Omit<LogisticFitOptions, 'l2'> & { beforeFit?: () => void; centreInPlace?: boolean } = {}): LogisticFit[] {
  const { rows, dim, classes } = data;
  if (!(rows > 0)) throw new RangeError('fitLogisticRegression needs at least one row');
  if (data.features.length < rows * dim) throw new RangeError(`features has ${data.features.length} values, expected rows × dim = ${rows * dim}`);
  if (data.labels.length < rows) throw new RangeError(`labels has ${data.labels.length} entries, expected ${rows}`);
  for (const l2 of l2s) if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError(`l2 must be a finite number ≥ 0, got ${l2}`);
  for (let r = 0; r < rows; r++) {
    const label = data.labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new RangeError(`label ${label} of row ${r} is outside [0, ${classes})`);
  }
  const mean = columnMeans(data);
  const centred = { ...data, features: centredRows(data, mean, options.centreInPlace ?? false) };
  const x = new Float64Array((dim + 1) * classes);
  if (options.start) packWeights(moveBias(options.start, mean, classes, +1), x, classes, dim);
  // One objective for the path: its buffers made (and, on TF.js, the rows uploaded) once; the strength is each fit's.
  const objective = new LogisticObjective(centred, options.classWeights, options.products ?? 'auto');
  try {
    return l2s.map((l2) => {
      options.beforeFit?.();
      objective.l2 = l2;
      const { loss, iterations, converged } = minimize(objective, x, options.maxIterations ?? 100, options.tolerance ?? 1e-4);
      const weights = moveBias(unpackWeights(x, classes, dim), mean, classes, -1);
      return { ...weights, loss, accuracy: objective.accuracy(x), iterations, converged };
    });
  } finally {
    objective.dispose();
  }
}

/** L-BFGS from x (updated in place to the solution). */
function minimize(objective: LogisticObjective, x: Float64Array, maxIterations: number, tolerance: number): { loss: number; iterations: number; converged: boolean } {
  const n = x.length;
  let { loss, gradient } = objective.evaluate(x);
  const steps: Float64Array[] = [];
  const changes: Float64Array[] = [];
  const curvatures: number[] = [];
  let iterations = 0;
  let converged = maxAbs(gradient) < tolerance;
  while (!converged && iterations < maxIterations) {
    const direction = twoLoopDirection(gradient, steps, changes, curvatures);
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding after many corrections): start the memory again.
      steps.length = changes.length = curvatures.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -gradient[i];
      slope = dot(gradient, direction);
    }
    // The first step has no curvature to scale it: a unit move of the largest component at most.
    let length = steps.length === 0 ? Math.min(1, 1 / Math.max(maxAbs(gradient), 1e-12)) : 1;
    const next = new Float64Array(n);
    let trial: { loss: number; gradient: Float64Array } | undefined;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < n; i++) next[i] = x[i] + length * direction[i];
      trial = objective.evaluate(next);
      if (trial.loss <= loss + 1e-4 * length * slope) break;
      trial = undefined;
      length /= 2;
    }
    iterations++;
    if (!trial) break; // no decrease along the direction: as far as float arithmetic goes
    const step = new Float64Array(n);
    const change = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      step[i] = next[i] - x[i];
      change[i] = trial.gradient[i] - gradient[i];
    }
    const curvature = dot(step, change);
    if (curvature > 1e-12) {
      steps.push(step);
      changes.push(change);
      curvatures.push(curvature);
      if (steps.length > MEMORY) {
        steps.shift();
        changes.shift();
        curvatures.shift();
      }
    }
    const previous = loss;
    x.set(next);
    ({ loss, gradient } = trial);
    converged = maxAbs(gradient) < tolerance || Math.abs(previous - loss) <= 1e-10 * Math.max(1, Math.abs(loss));
  }
  return { loss, iterations, converged };
}

/** Packed parameters x = [kernelT (classes × dim), bias (classes)]. */
function packWeights(weights: LogisticWeights, x: Float64Array, classes: number, dim: number): void {
  const size = classes * dim;
  if (weights.kernelT.length !== size || weights.bias.length !== classes) throw new RangeError(`start weights have ${weights.kernelT.length} + ${weights.bias.length} values, expected ${size} + ${classes}`);
  x.set(weights.kernelT, 0);
  x.set(weights.bias, size);
}

function unpackWeights(x: Float64Array, classes: number, dim: number): LogisticWeights {
  const size = classes * dim;
  return { kernelT: Float32Array.from(x.subarray(0, size)), bias: Float32Array.from(x.subarray(size)) };
}

function columnMeans({ features, rows, dim }: InMemoryRows): Float64Array {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0, base = r * dim; d < dim; d++) mean[d] += features[base + d];
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  return mean;
}

function centredRows({ features, rows, dim }: InMemoryRows, mean: Float64Array, inPlace: boolean): Float32Array {
  const out = inPlace ? features.subarray(0, rows * dim) : new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let d = 0, base = r * dim; d < dim; d++) out[base + d] = features[base + d] - mean[d];
  return out;
}

/** The same model's weights for inputs shifted by −μ (sign +1: b + W·μ) or back (−1: b − W·μ). */
function moveBias(weights: LogisticWeights, mean: Float64Array, classes: number, sign: 1 | -1): LogisticWeights {
  const dim = mean.length;
  const bias = Float32Array.from(weights.bias);
  for (let c = 0; c < classes; c++) {
    let shift = 0;
    for (let d = 0; d < dim; d++) shift += weights.kernelT[c * dim + d] * mean[d];
    bias[c] += sign * shift;
  }
  return { kernelT: weights.kernelT, bias };
}

/** −H·g from the kept corrections (H₀ = γI, γ = sᵀy / yᵀy of the newest). */
function twoLoopDirection(gradient: Float64Array, steps: Float64Array[], changes: Float64Array[], curvatures: number[]): Float64Array {
  const q = Float64Array.from(gradient);
  const alphas = new Array<number>(steps.length);
  for (let k = steps.length - 1; k >= 0; k--) {
    alphas[k] = dot(steps[k], q) / curvatures[k];
    axpy(-alphas[k], changes[k], q);
  }
  if (steps.length > 0) {
    const last = changes[changes.length - 1];
    const gamma = curvatures[curvatures.length - 1] / dot(last, last);
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
  }
  for (let k = 0; k < steps.length; k++) {
    const beta = dot(changes[k], q) / curvatures[k];
    axpy(alphas[k] - beta, steps[k], q);
  }
  for (let i = 0; i < q.length; i++) q[i] = -q[i];
  return q;
}

/**
 * The loss and its gradient at packed parameters x = [kernelT (classes × dim), bias (classes)]:
 * logits = X·Wᵀ + b, R = w·(softmax − onehot) / rows, ∇W = Rᵀ·X + 2·l2·W, ∇b = Σ R.
 */
class LogisticObjective {
  private readonly rows: number;
  private readonly dim: number;
  private readonly classes: number;
  private readonly weights: Float32Array | null;
  private readonly kernelT: Float32Array;
  private readonly bias: Float32Array;
  private readonly biasGradient: Float32Array;
  private readonly logits: Float32Array;
  private readonly residuals: Float32Array;
  private readonly kernelGradient: Float32Array;
  private readonly products: RowProducts;

  /** The L2 strength of the fit under way (set before each fit of a path). */
  l2 = 0;

  constructor(
    private readonly data: InMemoryRows,
    classWeights: Float32Array | undefined,
    products: 'auto' | 'tfjs',
  ) {
    ({ rows: this.rows, dim: this.dim, classes: this.classes } = data);
    this.weights = classWeights ? sampleWeightsFor(data.labels.subarray(0, data.rows), classWeights, data.classes) : null;
    this.kernelT = new Float32Array(this.classes * this.dim);
    this.bias = new Float32Array(this.classes);
    this.biasGradient = new Float32Array(this.classes);
    this.logits = new Float32Array(this.rows * this.classes);
    this.residuals = new Float32Array(this.rows * this.classes);
    this.kernelGradient = new Float32Array(this.classes * this.dim);
    this.products = rowProducts(data, products);
  }

  evaluate(x: Float64Array): { loss: number; gradient: Float64Array } {
    const { rows, dim, classes } = this;
    const size = classes * dim;
    const gradient = new Float64Array(x.length);
    const lossSum = this.products.objective ? this.objectiveInOnePass(x, gradient) : this.objectiveByProducts(x, gradient);
    let squares = 0;
    for (let i = 0; i < size; i++) {
      squares += x[i] * x[i];
      gradient[i] = this.kernelGradient[i] + 2 * this.l2 * x[i];
    }
    return { loss: lossSum / rows + this.l2 * squares, gradient };
  }

  /** Σ w·(−log p) and the bias gradient into `gradient`, the kernel's into this.kernelGradient: the addon's single pass. */
  private objectiveInOnePass(x: Float64Array, gradient: Float64Array): number {
    const { rows, classes, dim } = this;
    const size = classes * dim;
    for (let i = 0; i < size; i++) this.kernelT[i] = x[i];
    for (let c = 0; c < classes; c++) this.bias[c] = x[size + c];
    const lossSum = this.products.objective!(this.kernelT, this.bias, this.weights, 1 / rows, this.kernelGradient, this.biasGradient);
    for (let c = 0; c < classes; c++) gradient[size + c] = this.biasGradient[c];
    return lossSum;
  }

  /** As objectiveInOnePass, from the two products with the softmax between them here. */
  private objectiveByProducts(x: Float64Array, gradient: Float64Array): number {
    const { rows, dim, classes, logits, residuals } = this;
    const size = classes * dim;
    this.forward(x);
    let lossSum = 0;
    const labels = this.data.labels;
    const weights = this.weights;
    const scale = 1 / rows;
    for (let r = 0; r < rows; r++) {
      const row = r * classes;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) if (logits[row + c] > max) max = logits[row + c];
      // exp once per value, kept in the residuals until the sum is known
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        const e = Math.exp(logits[row + c] - max);
        residuals[row + c] = e;
        sum += e;
      }
      const label = labels[r];
      const weight = weights ? weights[r] : 1;
      lossSum += weight * (max + Math.log(sum) - logits[row + label]);
      const factor = (weight * scale) / sum;
      for (let c = 0; c < classes; c++) residuals[row + c] *= factor;
      residuals[row + label] -= weight * scale;
    }
    for (let r = 0; r < rows; r++) for (let c = 0; c < classes; c++) gradient[size + c] += residuals[r * classes + c];
    this.products.kernelGradient(residuals, this.kernelGradient);
    return lossSum;
  }

  accuracy(x: Float64Array): number {
    this.forward(x);
    let correct = 0;
    for (let r = 0; r < this.rows; r++) {
      const row = r * this.classes;
      let best = 0;
      for (let c = 1; c < this.classes; c++) if (this.logits[row + c] > this.logits[row + best]) best = c;
      if (best === this.data.labels[r]) correct++;
    }
    return correct / this.rows;
  }

  dispose(): void {
    this.products.dispose();
  }

  /** logits [rows, classes] = X · kernelTᵀ + bias */
  private forward(x: Float64Array): void {
    const { rows, dim, classes, logits } = this;
    const size = classes * dim;
    for (let i = 0; i < size; i++) this.kernelT[i] = x[i];
    this.products.logits(this.kernelT, logits);
    for (let r = 0; r < rows; r++) for (let c = 0; c < classes; c++) logits[r * classes + c] += x[size + c];
  }
}

/** Softmax of X · kernelTᵀ + bias for rows held in memory (the product as the fit's: the onednn addon's sgemm where it loads). */
export function logisticProbabilities(weights: LogisticWeights, data: InMemoryRows, products: 'auto' | 'tfjs' = 'auto'): Float32Array {
  const { rows, classes } = data;
  const logits = new Float32Array(rows * classes);
  const product = rowProducts(data, products);
  try {
    product.logits(weights.kernelT, logits);
  } finally {
    product.dispose();
  }
  for (let r = 0; r < rows; r++) for (let c = 0; c < classes; c++) logits[r * classes + c] += weights.bias[c];
  return softmaxRows(logits, classes);
}

/** The two products a loss needs with the rows X [rows, dim], which are kept once (a tensor for TF.js). */
interface RowProducts {
  /** out [rows, classes] = X · kernelTᵀ */
  logits(kernelT: Float32Array, out: Float32Array): void;
  /** out [classes, dim] = Rᵀ · X for R [rows, classes] */
  kernelGradient(residuals: Float32Array, out: Float32Array): void;
  /**
   * Where the addon loads, the whole loss in one pass over X (its logisticObjective: the rows read
   * once, not twice, and no softmax here): 3-4x fewer milliseconds an evaluation on pooled rows.
   */
  objective?(kernelT: Float32Array, bias: Float32Array, weights: Float32Array | null, scale: number, kernelGradient: Float32Array, biasGradient: Float32Array): number;
  dispose(): void;
}

function rowProducts(data: InMemoryRows, products: 'auto' | 'tfjs'): RowProducts {
  const { rows, dim, classes } = data;
  const features = data.features.subarray(0, rows * dim);
  const labels = data.labels.subarray(0, rows);
  const status = products === 'auto' ? denseAddonStatus() : undefined;
  if (status?.available) {
    const { addon } = status;
    return {
      logits: (kernelT, out) => addon.gemm(false, true, rows, classes, dim, 1, features, dim, kernelT, dim, 0, out, classes),
      kernelGradient: (residuals, out) => addon.gemm(true, false, classes, dim, rows, 1, residuals, classes, features, dim, 0, out, dim),
      objective: (kernelT, bias, weights, scale, kernelGradient, biasGradient) =>
        addon.logisticObjective(features, rows, dim, labels, weights, kernelT, bias, scale, kernelGradient, biasGradient),
      dispose: () => undefined,
    };
  }
  const x = tf.tensor2d(features, [rows, dim]);
  const into = (out: Float32Array, product: () => tf.Tensor) => {
    const result = tf.tidy(product);
    out.set(result.dataSync() as Float32Array);
    result.dispose();
  };
  return {
    logits: (kernelT, out) => into(out, () => tf.matMul(x, tf.tensor2d(kernelT, [classes, dim]), false, true)),
    kernelGradient: (residuals, out) => into(out, () => tf.matMul(tf.tensor2d(residuals, [rows, classes]), x, true, false)),
    dispose: () => x.dispose(),
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  return max;
}
