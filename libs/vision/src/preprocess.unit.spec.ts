import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import { channelOrderOf, preprocessBatch, preprocessPixels } from './preprocess';

// Two pixels: (R,G,B) = (10,20,30) and (255,0,128).
const pixels = Uint8Array.from([10, 20, 30, 255, 0, 128]);

describe('preprocessing modes', () => {
  beforeAll(() => selectBackend('wasm', { log: () => undefined }));

  it('caffe: RGB→BGR minus the ImageNet BGR mean, like Keras preprocess_input(mode="caffe")', () => {
    const out = preprocessPixels(pixels, { mode: 'caffe' });
    const expected = [30 - 103.939, 20 - 116.779, 10 - 123.68, 128 - 103.939, 0 - 116.779, 255 - 123.68];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 4));
    // Bit-exact with numpy float32: x (float32) minus float32(mean).
    expect(out[0]).toBe(Math.fround(30 - Math.fround(103.939)));
    expect(channelOrderOf({ mode: 'caffe' })).toBe('bgr');
  });

  it('tf: x / 127.5 - 1', () => {
    const out = preprocessPixels(pixels, { mode: 'tf' });
    [-0.9215686, -0.8431373, -0.7647059, 1, -1, 0.0039216].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('torch: x / 255, minus mean, divided by std (RGB)', () => {
    const out = preprocessPixels(pixels, { mode: 'torch' });
    const expected = [
      (10 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224, (30 / 255 - 0.406) / 0.225,
      (255 / 255 - 0.485) / 0.229, (0 / 255 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225,
    ];
    expect(expected[0]).toBeCloseTo(-1.946656, 5); // hand check of the formula itself
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it('explicit mean/std on 0..255 pixels, scalar (MobileNetV2: (p - 127) / 127.5) or per channel', () => {
    const scalar = preprocessPixels(pixels, { mode: { mean: 127, std: 127.5 } });
    [-117 / 127.5, -107 / 127.5, -97 / 127.5, 128 / 127.5, -127 / 127.5, 1 / 127.5].forEach((v, i) => expect(scalar[i]).toBeCloseTo(v, 6));
    const perChannel = preprocessPixels(pixels, { mode: { mean: [1, 2, 3], std: [2, 4, 8] } });
    [4.5, 4.5, 3.375, 127, -0.5, 15.625].forEach((v, i) => expect(perChannel[i]).toBeCloseTo(v, 6));
  });

  it('explicit mean/std with BGR channel order swaps before normalising (values listed in BGR)', () => {
    const out = preprocessPixels(pixels, { mode: { mean: [1, 2, 3], std: 1 }, channelOrder: 'bgr' });
    expect(Array.from(out)).toEqual([29, 18, 7, 127, -2, 252]);
  });

  it('rejects malformed input', () => {
    expect(() => preprocessPixels(Uint8Array.from([1, 2]), { mode: 'tf' })).toThrow(/multiple of 3/);
    expect(() => preprocessPixels(pixels, { mode: { mean: [1, 2], std: 1 } })).toThrow(/mean needs 1 or 3 values/);
    expect(() => preprocessPixels(pixels, { mode: { mean: 0, std: 0 } })).toThrow(/std must not be 0/);
  });

  it('batches same-size images into one float32 NHWC tensor', () => {
    const image = { data: pixels, width: 2, height: 1 };
    const batch = preprocessBatch([image, image], { mode: 'tf' });
    expect(batch.shape).toEqual([2, 1, 2, 3]);
    expect(batch.dtype).toBe('float32');
    expect(Array.from(batch.dataSync().slice(6, 9))).toEqual(Array.from(preprocessPixels(pixels, { mode: 'tf' }).slice(0, 3)));
    batch.dispose();
    expect(() => preprocessBatch([image, { data: pixels, width: 1, height: 2 }], { mode: 'tf' })).toThrow(/image 1 is 1x2/);
    expect(tf.memory().numTensors).toBe(0);
  });
});
