/**
 * ResNet-50 as keras/applications/resnet.py lays it out, written down independently of resnet50.ts
 * so tests can catch a wrong name, order or shape there: every layer in Keras' model.layers order
 * with the shapes of its weights (Keras order: kernel, bias; BN gamma, beta, moving_mean, moving_variance).
 */
export interface KerasLayerLayout {
  name: string;
  kind: 'input' | 'pad' | 'conv' | 'bn' | 'relu' | 'maxpool' | 'add' | 'gap' | 'dense';
  /** Weight kinds with shapes, empty for layers without weights. */
  weights: Array<{ kind: string; shape: number[] }>;
  /** conv: kernel size and stride, 'same' or 'valid'; pad: amount; maxpool: size/stride. */
  kernel?: number;
  stride?: number;
  padding?: 'same' | 'valid';
  pad?: number;
}

const STAGES: Array<{ stage: number; filters: number; blocks: number; stride: number }> = [
  { stage: 2, filters: 64, blocks: 3, stride: 1 },
  { stage: 3, filters: 128, blocks: 4, stride: 2 },
  { stage: 4, filters: 256, blocks: 6, stride: 2 },
  { stage: 5, filters: 512, blocks: 3, stride: 2 },
];

export function resnet50KerasLayout(includeTop: boolean): KerasLayerLayout[] {
  const layers: KerasLayerLayout[] = [];
  const conv = (name: string, k: number, cin: number, cout: number, stride: number, padding: 'same' | 'valid') =>
    layers.push({ name, kind: 'conv', kernel: k, stride, padding, weights: [{ kind: 'kernel', shape: [k, k, cin, cout] }, { kind: 'bias', shape: [cout] }] });
  const bn = (name: string, c: number) =>
    layers.push({ name, kind: 'bn', weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((kind) => ({ kind, shape: [c] })) });
  const plain = (name: string, kind: KerasLayerLayout['kind'], extra: Partial<KerasLayerLayout> = {}) => layers.push({ name, kind, weights: [], ...extra });

  plain('input_1', 'input');
  plain('conv1_pad', 'pad', { pad: 3 });
  conv('conv1_conv', 7, 3, 64, 2, 'valid');
  bn('conv1_bn', 64);
  plain('conv1_relu', 'relu');
  plain('pool1_pad', 'pad', { pad: 1 });
  plain('pool1_pool', 'maxpool', { kernel: 3, stride: 2 });

  let channels = 64;
  for (const { stage, filters, blocks, stride } of STAGES) {
    for (let b = 1; b <= blocks; b++) {
      const name = `conv${stage}_block${b}`;
      const s = b === 1 ? stride : 1;
      conv(`${name}_1_conv`, 1, channels, filters, s, 'valid');
      bn(`${name}_1_bn`, filters);
      plain(`${name}_1_relu`, 'relu');
      conv(`${name}_2_conv`, 3, filters, filters, 1, 'same');
      bn(`${name}_2_bn`, filters);
      plain(`${name}_2_relu`, 'relu');
      if (b === 1) {
        // Keras lists the shortcut conv after the 3x3 branch (same depth in the graph as _3_conv).
        conv(`${name}_0_conv`, 1, channels, 4 * filters, s, 'valid');
        conv(`${name}_3_conv`, 1, filters, 4 * filters, 1, 'valid');
        bn(`${name}_0_bn`, 4 * filters);
        bn(`${name}_3_bn`, 4 * filters);
      } else {
        conv(`${name}_3_conv`, 1, filters, 4 * filters, 1, 'valid');
        bn(`${name}_3_bn`, 4 * filters);
      }
      plain(`${name}_add`, 'add');
      plain(`${name}_out`, 'relu');
      channels = 4 * filters;
    }
  }
  if (includeTop) {
    plain('avg_pool', 'gap');
    layers.push({ name: 'predictions', kind: 'dense', weights: [{ kind: 'kernel', shape: [2048, 1000] }, { kind: 'bias', shape: [1000] }] });
  }
  return layers;
}
