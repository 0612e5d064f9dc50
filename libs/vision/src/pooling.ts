import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';

/**
 * How a [N, H, W, C] feature map becomes one vector per image:
 * - `none`: flatten, keeping spatial layout (ResNet-50: 7x7x2048 = 100,352 values, as in the tutorial);
 * - `avg` / `max`: global average / max over H and W → C values;
 * - `avg+max`: both, concatenated (average first) → 2C values.
 */
export const PoolingSchema = z.enum(['none', 'avg', 'max', 'avg+max']);
export type Pooling = z.infer<typeof PoolingSchema>;

/** Pools a feature tensor to [N, D]. Already-flat [N, D] features pass through only with 'none'. */
export function poolFeatures(features: tf.Tensor, pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    if (features.rank === 2) {
      if (pooling !== 'none') {
        throw new Error(`pooling '${pooling}' needs a [N,H,W,C] feature map, got [${features.shape.join(',')}]`);
      }
      return features.clone() as tf.Tensor2D;
    }
    if (features.rank !== 4) throw new Error(`features must be [N,H,W,C] or [N,D], got [${features.shape.join(',')}]`);
    const n = features.shape[0]!;
    switch (pooling) {
      case 'none':
        return features.reshape([n, -1]) as tf.Tensor2D;
      case 'avg':
        return tf.mean(features, [1, 2]) as tf.Tensor2D;
      case 'max':
        return tf.max(features, [1, 2]) as tf.Tensor2D;
      case 'avg+max':
        return tf.concat([tf.mean(features, [1, 2]), tf.max(features, [1, 2])], 1) as tf.Tensor2D;
    }
  });
}

/** Vector length after pooling, from a per-image feature shape ([H,W,C] or [D]). */
export function pooledDim(featureShape: readonly number[], pooling: Pooling): number {
  if (featureShape.length === 1) {
    if (pooling !== 'none') throw new Error(`pooling '${pooling}' needs an [H,W,C] feature map, got [${featureShape.join(',')}]`);
    return featureShape[0]!;
  }
  if (featureShape.length !== 3) throw new Error(`feature shape must be [H,W,C] or [D], got [${featureShape.join(',')}]`);
  const [h, w, c] = featureShape as [number, number, number];
  return pooling === 'none' ? h * w * c : pooling === 'avg+max' ? 2 * c : c;
}
