import * as tf from '@tensorflow/tfjs';

/**
 * Forward and backward passes of a stack of dense layers (ReLU between them, logits out), written
 * by hand so that every large matMul runs in the wasm backend's fast form.
 *
 * Why the layouts: tfjs-backend-wasm sends matMul(a, b) to XNNPACK only when neither operand is
 * transposed (otherwise a scalar triple loop, 10-30x slower), and XNNPACK first packs the RIGHT
 * operand b — cached per tensor, so a b that changes every step (a weight after each optimizer
 * update) is re-packed every step: for the 100,352 × 256 kernel that costs ~400 ms, 4x the
 * multiplication itself. Measured here (batch 32, 100,352 → 256, 2 cores, libs/learning/bench/
 * matmul-layouts.ts):
 *
 *   forward  X·W, W [in, out] updated each step (Keras)      ~480-610 ms
 *   forward  matMul(X, Wᵀ, false, true)                      ~800-1,000 ms
 *   forward  (Wᵀ·Xᵀ)ᵀ, Wᵀ stored [256, 100352]              ~90-130 ms
 *   gradient matMul(dZ, X, true, false)                      ~2,500 ms
 *   gradient dZᵀ·X → dWᵀ [256, 100352]                       ~65-90 ms
 *
 * So each kernel is stored transposed, `kernelT` [units, inputs], and always sits on the LEFT:
 * the big weight is never packed, only the small activations are (and transposing a 32 × 100,352
 * batch costs ~5 ms). Kernels are converted to Keras' [inputs, units] layout only for export.
 */
export interface DenseLayer {
  /** [units, inputs]: the transpose of a Keras Dense kernel. */
  kernelT: tf.Tensor2D;
  /** [units]. */
  bias: tf.Tensor1D;
}

export interface DenseGradients {
  kernelT: tf.Tensor2D;
  bias: tf.Tensor1D;
}

export interface ForwardTrace {
  /** What each layer received: the batch, then each hidden layer's output (after ReLU and dropout). */
  inputs: tf.Tensor2D[];
  /** Per hidden layer, d(output)/d(pre-activation) elementwise: ReLU'(z) times the dropout mask. */
  gates: tf.Tensor2D[];
  logits: tf.Tensor2D;
}

/**
 * input [rows, inputs] → [rows, units], computed as (Wᵀ·inputᵀ)ᵀ + b (see the file comment).
 * `inputT`, when the caller already has it, is inputᵀ: heads sharing one batch share its transpose.
 */
export function denseApply(layer: DenseLayer, input: tf.Tensor2D, inputT?: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.transpose(tf.matMul(layer.kernelT, inputT ?? tf.transpose(input))), layer.bias);
}

/** Logits for prediction: ReLU between layers, no dropout. `xT`: xᵀ, if the caller has it. */
export function inferLogits(layers: DenseLayer[], x: tf.Tensor2D, xT?: tf.Tensor2D): tf.Tensor2D {
  let activation = x;
  for (let l = 0; l < layers.length - 1; l++) activation = tf.relu(denseApply(layers[l], activation, l === 0 ? xT : undefined));
  return denseApply(layers[layers.length - 1], activation, layers.length === 1 ? xT : undefined);
}

/**
 * The training forward pass, keeping what the backward pass needs. `dropoutMasks[l]` ([rows,
 * hidden[l]], inverted-dropout scaled) multiplies hidden layer l's output; omitted = no dropout.
 * `xT`: xᵀ, if the caller has it.
 */
export function forwardForTraining(layers: DenseLayer[], x: tf.Tensor2D, dropoutMasks?: tf.Tensor2D[], xT?: tf.Tensor2D): ForwardTrace {
  const inputs: tf.Tensor2D[] = [x];
  const gates: tf.Tensor2D[] = [];
  let activation = x;
  for (let l = 0; l < layers.length - 1; l++) {
    const z = denseApply(layers[l], activation, l === 0 ? xT : undefined);
    const reluSlope = tf.step(z); // 1 where z > 0, else 0
    const gate = dropoutMasks?.[l] ? tf.mul<tf.Tensor2D>(reluSlope, dropoutMasks[l]) : reluSlope;
    // relu(z) · mask = z · gate: one multiplication gives the output and keeps the gate for backward.
    activation = tf.mul<tf.Tensor2D>(z, gate);
    gates.push(gate);
    inputs.push(activation);
  }
  return { inputs, gates, logits: denseApply(layers[layers.length - 1], activation, layers.length === 1 ? xT : undefined) };
}

/**
 * Gradients of every layer given d(loss)/d(logits). `kernelDecay` adds `kernelDecay · Wᵀ` to each
 * kernel's gradient (2λ for an L2 penalty λ·Σw², times whatever scale dLogits already carries).
 * No gradient is computed for the network's input (the first layer needs none).
 */
export function backward(layers: DenseLayer[], trace: ForwardTrace, dLogits: tf.Tensor2D, kernelDecay = 0): DenseGradients[] {
  const gradients: DenseGradients[] = new Array(layers.length);
  let dz = dLogits;
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l];
    // dWᵀ = dZᵀ · input: the small dZᵀ on the left, the activations (packed once) on the right.
    let kernelT = tf.matMul<tf.Tensor2D>(tf.transpose(dz), trace.inputs[l]);
    if (kernelDecay !== 0) {
      const [data, decay] = [kernelT, tf.mul(layer.kernelT, kernelDecay)];
      kernelT = tf.add(data, decay);
      tf.dispose([data, decay]); // now, not at the end of the caller's tidy: a big kernel's are 100 MB each
    }
    gradients[l] = { kernelT, bias: tf.sum<tf.Tensor1D>(dz, 0) };
    // d(input) = dZ · Wᵀ (Wᵀ of a hidden layer is small, so packing it is cheap), through the gate.
    if (l > 0) dz = tf.mul<tf.Tensor2D>(tf.matMul(dz, layer.kernelT), trace.gates[l - 1]);
  }
  return gradients;
}
