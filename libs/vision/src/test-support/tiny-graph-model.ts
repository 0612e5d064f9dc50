import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const dims = (shape: number[]) => ({ dim: shape.map((n) => ({ size: String(n) })) });

/**
 * Writes a TF.js graph model (the tfjs-converter GraphDef JSON format) computing
 * feat = relu(conv2d(image, kernel, SAME)), out = Identity(feat), image [N, 8, 8, 3], kernel [3,3,3,4].
 */
export function writeTinyGraphModel(dir: string, kernel: Float32Array): void {
  mkdirSync(dir, { recursive: true });
  const float = { type: 'DT_FLOAT' };
  const nodes = [
    { name: 'image', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims([-1, 8, 8, 3]) } } },
    { name: 'kernel', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([3, 3, 3, 4]) } }, dtype: float } },
    {
      name: 'feat/conv',
      op: 'Conv2D',
      input: ['image', 'kernel'],
      attr: {
        T: float,
        strides: { list: { i: ['1', '1', '1', '1'] } },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
      },
    },
    { name: 'feat', op: 'Relu', input: ['feat/conv'], attr: { T: float } },
    { name: 'out', op: 'Identity', input: ['feat'], attr: { T: float } },
  ];
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.from(kernel.buffer, kernel.byteOffset, kernel.byteLength));
  writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      generatedBy: 'featx test',
      convertedBy: 'hand-written',
      modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'kernel', shape: [3, 3, 3, 4], dtype: 'float32' }] }],
    }),
  );
}
