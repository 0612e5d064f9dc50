import { add, batchNorm, conv2d, denseSoftmax, globalAveragePool, maxPool, relu, zeroPad, type FeatureMap } from './reference-ops';
import { testWeightValues } from './resnet50-test-weights';

const EPSILON = 1.001e-5;

/** Intermediate outputs of the reference forward pass, by Keras layer name. */
export interface ReferenceOutputs {
  conv1_relu: FeatureMap;
  pool1_pool: FeatureMap;
  conv2_block1_out: FeatureMap;
  conv5_block3_out: FeatureMap;
  predictions?: Float64Array;
}

/** ResNet-50 (Keras resnet.py structure) in plain loops with the seeded test weights. */
export function referenceResNet50(input: FeatureMap, includeTop: boolean): ReferenceOutputs {
  const w = (layer: string, kind: string, shape: number[]) => testWeightValues(layer, kind, shape);
  const convBn = (x: FeatureMap, name: string, k: number, cout: number, stride: number, padding: 'same' | 'valid', bnName: string) => {
    const y = conv2d(x, w(name, 'kernel', [k, k, x.c, cout]), w(name, 'bias', [cout]), k, cout, stride, padding);
    return batchNorm(y, w(bnName, 'gamma', [cout]), w(bnName, 'beta', [cout]), w(bnName, 'moving_mean', [cout]), w(bnName, 'moving_variance', [cout]), EPSILON);
  };

  const conv1 = relu(convBn(zeroPad(input, 3), 'conv1_conv', 7, 64, 2, 'valid', 'conv1_bn'));
  const pool1 = maxPool(zeroPad(conv1, 1), 3, 2);
  let x = pool1;
  let block1Out: FeatureMap | undefined;
  const stages = [
    { stage: 2, filters: 64, blocks: 3, stride: 1 },
    { stage: 3, filters: 128, blocks: 4, stride: 2 },
    { stage: 4, filters: 256, blocks: 6, stride: 2 },
    { stage: 5, filters: 512, blocks: 3, stride: 2 },
  ];
  for (const { stage, filters, blocks, stride } of stages) {
    for (let b = 1; b <= blocks; b++) {
      const n = `conv${stage}_block${b}`;
      const s = b === 1 ? stride : 1;
      const shortcut = b === 1 ? convBn(x, `${n}_0_conv`, 1, 4 * filters, s, 'valid', `${n}_0_bn`) : x;
      let y = relu(convBn(x, `${n}_1_conv`, 1, filters, s, 'valid', `${n}_1_bn`));
      y = relu(convBn(y, `${n}_2_conv`, 3, filters, 1, 'same', `${n}_2_bn`));
      y = convBn(y, `${n}_3_conv`, 1, 4 * filters, 1, 'valid', `${n}_3_bn`);
      x = relu(add(shortcut, y));
      if (n === 'conv2_block1') block1Out = x;
    }
  }
  const outputs: ReferenceOutputs = { conv1_relu: conv1, pool1_pool: pool1, conv2_block1_out: block1Out!, conv5_block3_out: x };
  if (includeTop) {
    outputs.predictions = denseSoftmax(globalAveragePool(x), w('predictions', 'kernel', [2048, 1000]), w('predictions', 'bias', [1000]), 1000);
  }
  return outputs;
}
