import * as tf from '@tensorflow/tfjs';

/**
 * Random non-trivial weights (BN variances positive) so that every parameter matters; seeded
 * (each weight its own seed from `seed` on) when a seed is given. For tests.
 */
export function randomizeWeights(model: tf.LayersModel, seed?: number): void {
  let next = seed;
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(
      ws.map((w, i) => {
        const name = layer.weights[i]!.originalName;
        const weightSeed = next === undefined ? undefined : next++;
        return name.endsWith('moving_variance') ? tf.randomUniform(w.shape, 0.5, 1.5, 'float32', weightSeed) : tf.randomNormal(w.shape, 0, 0.5, 'float32', weightSeed);
      }),
    );
  }
}

/** A functional model of `layers` applied in turn, with random weights (seeded when `seed` is given). */
export function chain(inputShape: number[], layers: tf.layers.Layer[], seed?: number): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  let x: tf.SymbolicTensor = input;
  for (const layer of layers) x = layer.apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  randomizeWeights(model, seed);
  return model;
}
