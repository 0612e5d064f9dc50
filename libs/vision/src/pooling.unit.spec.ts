import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import { pooledDim, poolFeatures } from './pooling';

describe('pooling', () => {
  beforeAll(() => selectBackend('wasm', { log: () => undefined }));

  it('flattens, averages or maxes a [N,H,W,C] map', () => {
    // N=2, H=1, W=2, C=2: image 0 positions (1,2),(3,-4); image 1 positions (0,5),(2,1)
    const x = tf.tensor4d([1, 2, 3, -4, 0, 5, 2, 1], [2, 1, 2, 2]);
    const none = poolFeatures(x, 'none');
    const avg = poolFeatures(x, 'avg');
    const max = poolFeatures(x, 'max');
    expect(none.shape).toEqual([2, 4]);
    expect(Array.from(none.dataSync())).toEqual([1, 2, 3, -4, 0, 5, 2, 1]);
    expect(Array.from(avg.dataSync())).toEqual([2, -1, 1, 3]);
    expect(Array.from(max.dataSync())).toEqual([3, 2, 2, 5]);
    tf.dispose([x, none, avg, max]);
  });

  it('concatenates the average and the max with avg+max, on both engines’ poolings alike', () => {
    const values = [1, 2, 3, -4, 0, 5, 2, 1];
    const x = tf.tensor4d(values, [2, 1, 2, 2]);
    const both = poolFeatures(x, 'avg+max');
    expect(both.shape).toEqual([2, 4]);
    expect(Array.from(both.dataSync())).toEqual([2, -1, 3, 2, 1, 3, 2, 5]);
    expect(pooledDim([7, 7, 1280], 'avg+max')).toBe(2560);
    // The ONNX Runtime worker's pooling (plain JavaScript), NHWC and NCHW.
    const { poolOutput } = require('../../onnx/src/engine/pool.js');
    expect(Array.from(poolOutput(Float32Array.from(values), [2, 1, 2, 2], 'NHWC', 'avg+max').data)).toEqual([2, -1, 3, 2, 1, 3, 2, 5]);
    // The same maps as NCHW [2, 2, 1, 2]: channel-major per image.
    const nchw = Float32Array.from([1, 3, 2, -4, 0, 2, 5, 1]);
    expect(poolOutput(nchw, [2, 2, 1, 2], 'NCHW', 'avg+max')).toEqual({ data: Float32Array.from([2, -1, 3, 2, 1, 3, 2, 5]), shape: [2, 4] });
    tf.dispose([x, both]);
  });

  it('gives the tutorial dimensions for ResNet-50 7x7x2048', () => {
    const x = tf.zeros([1, 7, 7, 2048]);
    expect(poolFeatures(x, 'none').shape).toEqual([1, 100_352]);
    expect(poolFeatures(x, 'avg').shape).toEqual([1, 2048]);
    expect(poolFeatures(x, 'max').shape).toEqual([1, 2048]);
    expect(pooledDim([7, 7, 2048], 'none')).toBe(100_352);
    expect(pooledDim([7, 7, 2048], 'avg')).toBe(2048);
    expect(pooledDim([7, 7, 1280], 'max')).toBe(1280);
    tf.disposeVariables();
    x.dispose();
  });

  it('passes already-flat features through only without pooling', () => {
    const x = tf.ones([3, 1280]);
    const y = poolFeatures(x, 'none');
    expect(y.shape).toEqual([3, 1280]);
    expect(() => poolFeatures(x, 'avg')).toThrow(/needs a \[N,H,W,C\] feature map/);
    expect(pooledDim([1280], 'none')).toBe(1280);
    tf.dispose([x, y]);
  });
});
