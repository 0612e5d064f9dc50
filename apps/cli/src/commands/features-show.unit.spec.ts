import type { FeatureSetDetails } from '@featx/contracts';
import { describeFeatureSet, quantizationLine } from './features.command';

describe('featx features show: precision', () => {
  const set = {
    id: 's1',
    datasetId: 'd1',
    datasetName: 'clothing',
    model: 'resnet50',
    layer: '',
    pooling: 'avg',
    dtype: 'float32',
    engine: 'onnx',
    dim: 2048,
  } as unknown as FeatureSetDetails;

  it('says fp32 and nothing more for an fp32 set', () => {
    expect(describeFeatureSet({ ...set, precision: 'fp32', quantization: null })).toBe(
      'feature set s1 — dataset clothing (d1)\nmodel resnet50, layer (default), pooling avg, float32, engine onnx, precision fp32, dim 2048',
    );
  });

  it("shows an int8 set's parity to fp32, its calibration and its int8 ops", () => {
    const quantization = { method: 'minmax', calibrationImages: 256, quantizedOps: { Conv: 53, Add: 16 }, parity: { pooling: 'avg', images: 64, meanCosine: 0.999931, minCosine: 0.99975, threshold: 0.99 } };
    expect(describeFeatureSet({ ...set, precision: 'int8', quantization }).split('\n')[2]).toBe(
      'int8: parity to fp32 mean cosine 0.99993 (min 0.99975) on 64 held-back images (threshold 0.99); calibrated (minmax) on 256 training images; int8 ops Add 16, Conv 53',
    );
    expect(quantizationLine(null)).toBe('int8: not quantized yet (an extractor quantizes the network when it first loads it)');
  });

  it('counts an hflip set\'s augmented rows apart from its images', () => {
    expect(describeFeatureSet({ ...set, precision: 'fp32', quantization: null, augment: 'hflip', augmented: 3068 }).split('\n')[2]).toBe(
      "augment hflip: 3068 augmented rows (the images' mirrors, in <split>-hflip shards: training rows, and test-time augmentation of validation and evaluation)",
    );
    expect(describeFeatureSet({ ...set, precision: 'fp32', quantization: null, augment: 'none', augmented: 0 }).split('\n')).toHaveLength(2);
  });
});
