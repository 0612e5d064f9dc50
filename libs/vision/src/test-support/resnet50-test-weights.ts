import { seededValues } from './seeded-values';
import type { KerasLayerLayout } from './resnet50-keras-layout';
import type { LayerToWrite } from './keras-h5-writer';

/**
 * Seeded weights for every ResNet-50 layer, scaled so activations stay O(1) through 16 blocks
 * (kernel variance 1/fan_in, BN close to identity) and a forward pass stays numerically comparable.
 */
export function testWeightValues(layerName: string, kind: string, shape: number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const key = `${layerName}/${kind}`;
  switch (kind) {
    case 'kernel': {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const limit = Math.sqrt(3 / fanIn);
      return seededValues(key, count, -limit, limit);
    }
    case 'gamma':
      return seededValues(key, count, 0.5, 1);
    case 'moving_variance':
      return seededValues(key, count, 0.5, 1.5);
    default: // bias, beta, moving_mean
      return seededValues(key, count, -0.1, 0.1);
  }
}

/** The layout as Keras would save it: weight names `<layer>/<kind>:0`. */
export function layersToWrite(layout: KerasLayerLayout[]): LayerToWrite[] {
  return layout.map((layer) => ({
    name: layer.name,
    weights: layer.weights.map((w) => ({ name: `${layer.name}/${w.kind}:0`, shape: w.shape, values: testWeightValues(layer.name, w.kind, w.shape) })),
  }));
}
