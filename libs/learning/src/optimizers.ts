import * as tf from '@tensorflow/tfjs';
import { NamedTensor, TensorValues, requireValues, variableOf } from './named-tensors';

/**
 * Optimizers written with tf ops on tf.Variables (not tf.train.*), so that their state — momentum,
 * Adam's moments — can be saved and restored exactly, and so that the SGD update over the 25.7M
 * weights of the tutorial's first layer takes as few passes over memory as possible.
 */

/** Keras 2 SGD: v = momentum·v − lr_t·g; w += v, with lr_t = lr / (1 + decay·t). */
export interface SgdSpec {
  kind: 'sgd';
  learningRate: number;
  /** Default 0 (plain SGD, no velocity kept). */
  momentum?: number;
  /** Keras' legacy time-based decay; default 0. */
  decay?: number;
}

/** Keras Adam (defaults β1 0.9, β2 0.999, ε 1e-7), with the same optional time-based decay. */
export interface AdamSpec {
  kind: 'adam';
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  decay?: number;
}

export type OptimizerSpec = SgdSpec | AdamSpec;

/** The tutorial's optimizer: SGD(lr=1e-3, momentum=0.9, decay=1e-3 / 25). */
export const TUTORIAL_SGD: Readonly<Required<SgdSpec>> = { kind: 'sgd', learningRate: 1e-3, momentum: 0.9, decay: 1e-3 / 25 };

export type ResolvedOptimizerSpec = Required<SgdSpec> | Required<AdamSpec>;

/** The optimizer fields of a training run's configuration (see @featx/contracts trainingConfigSchema). */
export interface OptimizerConfig {
  optimizer: 'sgd' | 'adam';
  learningRate: number;
  momentum?: number;
  /** Omitted: learningRate / epochs, as the tutorial (1e-3 / 25). */
  decay?: number;
  epochs: number;
}

/** The optimizer a run configuration asks for. */
export function optimizerSpecFromConfig(config: OptimizerConfig): ResolvedOptimizerSpec {
  const decay = config.decay ?? config.learningRate / config.epochs;
  return config.optimizer === 'sgd'
    ? resolveOptimizerSpec({ kind: 'sgd', learningRate: config.learningRate, momentum: config.momentum ?? 0, decay })
    : resolveOptimizerSpec({ kind: 'adam', learningRate: config.learningRate, decay });
}

export function resolveOptimizerSpec(spec: OptimizerSpec): ResolvedOptimizerSpec {
  const positive = (name: string, value: number) => {
    if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  };
  const unit = (name: string, value: number) => {
    if (!(value >= 0 && value < 1)) throw new RangeError(`${name} must be in [0, 1), got ${value}`);
  };
  positive('learningRate', spec.learningRate);
  const decay = spec.decay ?? 0;
  if (!(decay >= 0) || !Number.isFinite(decay)) throw new RangeError(`decay must be a finite number ≥ 0, got ${decay}`);
  if (spec.kind === 'sgd') {
    const momentum = spec.momentum ?? 0;
    unit('momentum', momentum);
    return { kind: 'sgd', learningRate: spec.learningRate, momentum, decay };
  }
  if (spec.kind === 'adam') {
    const resolved = { kind: 'adam' as const, learningRate: spec.learningRate, beta1: spec.beta1 ?? 0.9, beta2: spec.beta2 ?? 0.999, epsilon: spec.epsilon ?? 1e-7, decay };
    unit('beta1', resolved.beta1);
    unit('beta2', resolved.beta2);
    positive('epsilon', resolved.epsilon);
    return resolved;
  }
  throw new RangeError(`unknown optimizer '${String((spec as { kind: unknown }).kind)}'`);
}

/** Keras' legacy time-based decay; `step` counts the updates done before this one (0 first). */
export function decayedLearningRate(learningRate: number, decay: number, step: number): number {
  return learningRate / (1 + decay * step);
}

/** Optimizer slots per parameter, in the order the TF.js optimizers keep (and checkpoint) them. */
export function slotNames(optimizer: ResolvedOptimizerSpec): string[] {
  if (optimizer.kind === 'adam') return ['m', 'v'];
  return optimizer.momentum > 0 ? ['velocity'] : [];
}

export interface ParameterShape {
  name: string;
  shape: number[];
}

/** What a head shows of its optimizer, whichever engine runs the updates. */
export interface OptimizerView {
  readonly spec: ResolvedOptimizerSpec;
  /** The learning rate used for the update after `step` earlier updates. */
  learningRateAt(step: number): number;
  /** Every slot by name (`<slot>/<parameter>`), for checkpoints. Read them; do not dispose them. */
  state(): NamedTensor[];
}

/** The TF.js optimizer: updates tf.Variables in place. */
export interface Optimizer extends OptimizerView {
  /**
   * The factor the caller must fold into the gradients it passes to apply(): −lr_t for SGD, 1 for
   * Adam. Folding −lr_t into the (small) upstream gradient spares SGD a pass over each big kernel.
   */
  gradientScale(step: number): number;
  /**
   * One update of every parameter (same order as the shapes given at creation); `gradients` are
   * scaled by gradientScale(step) and are disposed here, each as soon as it is used.
   */
  apply(parameters: tf.Variable[], gradients: tf.Tensor[], step: number): void;
  dispose(): void;
}

/** An optimizer for these parameters, its state zero or restored from `values`. */
export function createOptimizer(spec: OptimizerSpec, parameters: ParameterShape[], values?: TensorValues): Optimizer {
  const resolved = resolveOptimizerSpec(spec);
  return resolved.kind === 'sgd' ? new SgdOptimizer(resolved, parameters, values) : new AdamOptimizer(resolved, parameters, values);
}

/** One state variable per parameter, named `<slot>/<parameter>`. */
class Slots {
  readonly variables: tf.Variable[];
  readonly names: string[];
  constructor(slot: string, parameters: ParameterShape[], values?: TensorValues) {
    this.names = parameters.map((p) => `${slot}/${p.name}`);
    this.variables = parameters.map((p, i) => variableOf(this.names[i], p.shape, values ? requireValues(values, this.names[i]) : undefined));
  }
  named(): NamedTensor[] {
    return this.variables.map((tensor, i) => ({ name: this.names[i], tensor }));
  }
  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}

/**
 * variable := value, disposing `spent` first. Updates dispose every temporary as soon as it is
 * used rather than at the end of a tf.tidy: for the 25.7M-weight first layer each one is 100 MB,
 * and the wasm heap never shrinks below its peak.
 */
function replace(variable: tf.Variable, value: tf.Tensor, spent: tf.Tensor[]): void {
  spent.forEach((t) => t.dispose());
  variable.assign(value);
  value.dispose(); // the variable holds its own reference to the data
}

function checkArity(parameters: tf.Variable[], gradients: tf.Tensor[], expected: number): void {
  if (parameters.length !== expected || gradients.length !== expected) {
    throw new RangeError(`optimizer expects ${expected} parameters and gradients, got ${parameters.length} and ${gradients.length}`);
  }
}

class SgdOptimizer implements Optimizer {
  private readonly velocity?: Slots;

  constructor(
    readonly spec: Required<SgdSpec>,
    private readonly parameters: ParameterShape[],
    values?: TensorValues,
  ) {
    if (spec.momentum > 0) this.velocity = new Slots('velocity', parameters, values);
  }

  learningRateAt(step: number): number {
    return decayedLearningRate(this.spec.learningRate, this.spec.decay, step);
  }

  gradientScale(step: number): number {
    return -this.learningRateAt(step);
  }

  apply(parameters: tf.Variable[], gradients: tf.Tensor[], _step: number): void {
    checkArity(parameters, gradients, this.parameters.length);
    const { momentum } = this.spec;
    // The tidy only catches the scalar constants; the big temporaries are disposed as they go.
    tf.tidy(() => {
      parameters.forEach((parameter, i) => {
        const step = gradients[i]; // already −lr_t·g
        if (!this.velocity) {
          replace(parameter, tf.add(parameter, step), [step]);
          return;
        }
        const velocity = this.velocity.variables[i];
        const decayed = tf.mul(velocity, momentum);
        replace(velocity, tf.add(decayed, step), [decayed, step]); // v = m·v − lr_t·g
        replace(parameter, tf.add(parameter, velocity), []); // w += v
      });
    });
  }

  state(): NamedTensor[] {
    return this.velocity?.named() ?? [];
  }

  dispose(): void {
    this.velocity?.dispose();
  }
}

class AdamOptimizer implements Optimizer {
  private readonly m: Slots;
  private readonly v: Slots;

  constructor(
    readonly spec: Required<AdamSpec>,
    private readonly parameters: ParameterShape[],
    values?: TensorValues,
  ) {
    this.m = new Slots('m', parameters, values);
    this.v = new Slots('v', parameters, values);
  }

  learningRateAt(step: number): number {
    return decayedLearningRate(this.spec.learningRate, this.spec.decay, step);
  }

  gradientScale(): number {
    return 1;
  }

  apply(parameters: tf.Variable[], gradients: tf.Tensor[], step: number): void {
    checkArity(parameters, gradients, this.parameters.length);
    const { beta1, beta2, epsilon } = this.spec;
    const t = step + 1;
    // Keras: α = lr_t·√(1 − β2ᵗ)/(1 − β1ᵗ); w −= α·m / (√v + ε) — the bias correction folded into α.
    const alpha = (this.learningRateAt(step) * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    tf.tidy(() => {
      parameters.forEach((parameter, i) => {
        const gradient = gradients[i];
        const m = this.m.variables[i];
        const v = this.v.variables[i];
        const [mDecayed, mFresh] = [tf.mul(m, beta1), tf.mul(gradient, 1 - beta1)];
        replace(m, tf.add(mDecayed, mFresh), [mDecayed, mFresh]); // m = β1·m + (1 − β1)·g
        const squared = tf.square(gradient);
        gradient.dispose();
        const [vDecayed, vFresh] = [tf.mul(v, beta2), tf.mul(squared, 1 - beta2)];
        squared.dispose();
        replace(v, tf.add(vDecayed, vFresh), [vDecayed, vFresh]); // v = β2·v + (1 − β2)·g²
        const root = tf.sqrt(v);
        const denominator = tf.add(root, epsilon);
        root.dispose();
        const ratio = tf.div(m, denominator);
        denominator.dispose();
        const update = tf.mul(ratio, alpha);
        ratio.dispose();
        replace(parameter, tf.sub(parameter, update), [update]);
      });
    });
  }

  state(): NamedTensor[] {
    return [...this.m.named(), ...this.v.named()];
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
