import * as tf from '@tensorflow/tfjs';
import { BackendPreferenceSchema, currentBackend, selectBackend } from './backend';

describe('TF.js backend selection', () => {
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  // Which backend 'auto' picks depends on what is installed: the rule is asserted, not this machine's result.
  const native = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].filter(isInstalled);

  it('auto takes tfjs-node-gpu, then tfjs-node, then wasm (SIMD), saying why it skipped each', async () => {
    const choice = await selectBackend('auto', { log });
    if (native.length > 0) {
      expect(choice).toMatchObject({ backend: 'tensorflow', preference: 'auto' });
    } else {
      expect(choice).toMatchObject({ backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', simd: true, preference: 'auto' });
      expect(choice.skipped.join('\n')).toMatch(/@tensorflow\/tfjs-node-gpu not installed/);
      expect(choice.skipped.join('\n')).toMatch(/@tensorflow\/tfjs-node not installed/);
      expect(lines.at(-1)).toMatch(/^TF\.js backend: wasm \(SIMD\)/);
    }
    expect(tf.getBackend()).toBe(choice.backend);
    const sum = tf.tensor1d([1, 2, 3]).sum();
    expect(sum.dataSync()[0]).toBe(6);
    sum.dispose();
  });

  it('is idempotent: the same preference returns the same choice without re-selecting', async () => {
    const before = lines.length;
    const first = await selectBackend('auto', { log });
    const again = await selectBackend('auto', { log });
    expect(again).toBe(first);
    expect(lines.length).toBe(before);
    expect(currentBackend()).toBe(first);
  });

  it('honours an explicit preference and fails clearly when it is unavailable', async () => {
    if (native.length === 0) await expect(selectBackend('tensorflow', { log })).rejects.toThrow(/'tensorflow' was requested but is unavailable: .*tfjs-node/);
    expect((await selectBackend('cpu', { log })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await selectBackend('wasm', { log })).backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('validates configuration values', () => {
    expect(BackendPreferenceSchema.parse('wasm')).toBe('wasm');
    expect(() => BackendPreferenceSchema.parse('webgpu')).toThrow();
  });
});

function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
