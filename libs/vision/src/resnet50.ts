import * as tf from '@tensorflow/tfjs';

/**
 * ResNet-50 built layer for layer as Keras 2.x builds `tf.keras.applications.ResNet50`
 * (keras/applications/resnet.py: ResNet + stack1 + block1), with the same layer names, order,
 * shapes and BatchNorm epsilon, so the HDF5 weights Keras publishes load by name and the
 * features equal the tutorial's.
 */
export interface ResNet50Options {
  /** Add `avg_pool` + `predictions` (Dense, softmax) like include_top=True. Default false. */
  includeTop?: boolean;
  /** [height, width, 3]; default [224, 224, 3]. Other sizes work (output is H/32 x W/32). */
  inputShape?: [number, number, number];
  /** Classes of the top Dense layer; default 1000. */
  classes?: number;
  /** Without top: Keras' `pooling` argument, appending `avg_pool` or `max_pool`. */
  pooling?: 'avg' | 'max';
  /**
   * Initial kernels: 'random' (Keras' Glorot uniform, default) or 'zeros' when weights will be loaded
   * anyway — TF.js draws random numbers in JavaScript, ~10 s for ResNet-50's 23.6M on a small CPU.
   */
  initialization?: 'random' | 'zeros';
}

/** Last layer of include_top=False: [N, 7, 7, 2048] at 224x224. */
export const RESNET50_FEATURE_LAYER = 'conv5_block3_out';
/** Same epsilon as Keras' resnet.py (not the BatchNormalization default of 1e-3). */
export const RESNET50_BN_EPSILON = 1.001e-5;
export const RESNET50_INPUT_SIZE: [number, number] = [224, 224];

type SymbolicTensor = tf.SymbolicTensor;
type ConvArgs = { filters: number; kernelSize: number; strides?: number; padding?: 'valid' | 'same'; name: string };
type ConvFactory = (args: ConvArgs) => tf.layers.Layer;

export function buildResNet50(options: ResNet50Options = {}): tf.LayersModel {
  const inputShape = options.inputShape ?? [224, 224, 3];
  const kernelInitializer = options.initialization === 'zeros' ? 'zeros' : 'glorotUniform';
  const conv: ConvFactory = (args) => tf.layers.conv2d({ ...args, useBias: true, kernelInitializer });

  const input = tf.input({ shape: inputShape, name: 'input_1' });
  let x = apply(tf.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }), input);
  x = apply(conv({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }), x);
  x = apply(batchNorm('conv1_bn'), x);
  x = apply(tf.layers.activation({ activation: 'relu', name: 'conv1_relu' }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);

  x = stack1(conv, x, 64, 3, 1, 'conv2');
  x = stack1(conv, x, 128, 4, 2, 'conv3');
  x = stack1(conv, x, 256, 6, 2, 'conv4');
  x = stack1(conv, x, 512, 3, 2, 'conv5');

  if (options.includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
    x = apply(tf.layers.dense({ units: options.classes ?? 1000, activation: 'softmax', kernelInitializer, name: 'predictions' }), x);
  } else if (options.pooling === 'avg') {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  } else if (options.pooling === 'max') {
    x = apply(tf.layers.globalMaxPooling2d({ name: 'max_pool' }), x);
  }
  return tf.model({ inputs: input, outputs: x, name: 'resnet50' });
}

/** Keras `stack1`: the first block may downsample and always has a projection shortcut. */
function stack1(conv: ConvFactory, x: SymbolicTensor, filters: number, blocks: number, stride1: number, name: string): SymbolicTensor {
  x = block1(conv, x, filters, stride1, true, `${name}_block1`);
  for (let i = 2; i <= blocks; i++) x = block1(conv, x, filters, 1, false, `${name}_block${i}`);
  return x;
}

/**
 * Keras `block1` (bottleneck, ResNet v1 as in Caffe): the stride sits on the first 1x1 conv and on
 * the shortcut conv, not on the 3x3 conv.
 */
function block1(conv: ConvFactory, x: SymbolicTensor, filters: number, stride: number, convShortcut: boolean, name: string): SymbolicTensor {
  let shortcut = x;
  if (convShortcut) {
    shortcut = apply(conv({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), x);
    shortcut = apply(batchNorm(`${name}_0_bn`), shortcut);
  }
  let y = apply(conv({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` }), x);
  y = apply(batchNorm(`${name}_1_bn`), y);
  y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_1_relu` }), y);
  y = apply(conv({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv` }), y);
  y = apply(batchNorm(`${name}_2_bn`), y);
  y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_2_relu` }), y);
  y = apply(conv({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
  y = apply(batchNorm(`${name}_3_bn`), y);
  const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as SymbolicTensor;
  return apply(tf.layers.activation({ activation: 'relu', name: `${name}_out` }), sum);
}

function batchNorm(name: string) {
  return tf.layers.batchNormalization({ axis: 3, epsilon: RESNET50_BN_EPSILON, name });
}

function apply(layer: tf.layers.Layer, x: SymbolicTensor): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/**
 * Name of a layer in the original Keras 2.0 ResNet50 (fchollet/deep-learning-models v0.2 weights:
 * `conv1`, `bn_conv1`, `res2a_branch2a`, `bn2a_branch1`, `fc1000`). Those files share the file name of
 * today's weights, so a cached old copy still loads. Returns undefined for layers without weights there.
 */
export function resnet50LegacyLayerName(name: string): string | undefined {
  if (name === 'conv1_conv') return 'conv1';
  if (name === 'conv1_bn') return 'bn_conv1';
  if (name === 'predictions') return 'fc1000';
  const match = /^conv(\d)_block(\d+)_(\d)_(conv|bn)$/.exec(name);
  if (!match) return undefined;
  const [, stage, block, part, kind] = match;
  const letter = String.fromCharCode('a'.charCodeAt(0) + Number(block) - 1);
  const branch = part === '0' ? '1' : `2${'abc'[Number(part) - 1]}`;
  return `${kind === 'conv' ? 'res' : 'bn'}${stage}${letter}_branch${branch}`;
}
