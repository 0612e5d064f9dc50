/**
 * Why dense-network.ts stores kernels transposed: the cost of each way to write the first layer's
 * matMuls of the tutorial's 100352-256-16-2 MLP on the wasm backend, batch 32 (median of 5).
 *
 *   node -r ./tools/register.js libs/learning/bench/matmul-layouts.ts
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';

const ROWS = 32;
const INPUTS = 100352;
const UNITS = 256;

function medianMs(run: () => tf.Tensor, repeats = 5): number {
  run().dispose(); // warm-up (and, where b is reused, XNNPACK's packed copy of it)
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    run().dispose();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[repeats >> 1];
}

async function main(): Promise<void> {
  await selectBackend('wasm', { log: () => undefined });
  const x = tf.randomNormal<tf.Rank.R2>([ROWS, INPUTS]);
  const kernel = tf.randomNormal<tf.Rank.R2>([INPUTS, UNITS]); // Keras layout
  const kernelT = tf.randomNormal<tf.Rank.R2>([UNITS, INPUTS]); // ours
  const dz = tf.randomNormal<tf.Rank.R2>([ROWS, UNITS]);
  // A kernel that changed since the last call, as after every optimizer step: XNNPACK re-packs it.
  const updated = (k: tf.Tensor2D) => tf.add(k, 0) as tf.Tensor2D;
  const rows: Array<[string, number]> = [
    ['forward X·W, W [in, out] unchanged (packed once)', medianMs(() => tf.matMul(x, kernel))],
    ['forward X·W, W [in, out] updated each step', medianMs(() => tf.tidy(() => tf.matMul(x, updated(kernel))))],
    ['  of which the update itself (tf.add)', medianMs(() => updated(kernel))],
    ['forward matMul(X, Wᵀ, false, true) (transposed b)', medianMs(() => tf.matMul(x, kernelT, false, true), 1)],
    ['forward (Wᵀ·Xᵀ)ᵀ, Wᵀ [out, in] (ours)', medianMs(() => tf.tidy(() => tf.transpose(tf.matMul(kernelT, tf.transpose(x)))))],
    ['gradient Xᵀ·dZ → dW [in, out]', medianMs(() => tf.tidy(() => tf.matMul(tf.transpose(x), dz)))],
    ['gradient matMul(dZ, X, true, false) (transposed a)', medianMs(() => tf.matMul(dz, x, true, false), 1)],
    ['gradient dZᵀ·X → dWᵀ [out, in] (ours)', medianMs(() => tf.tidy(() => tf.matMul(tf.transpose(dz), x)))],
  ];
  console.log('| matMul | ms |\n|---|---|');
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(0)} |`);
  tf.dispose([x, kernel, kernelT, dz]);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
