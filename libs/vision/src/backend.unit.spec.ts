import * as tf from '@tensorflow/tfjs';
import { BackendPreferenceSchema, currentBackend, selectBackend } from './backend';

describe('TF.js backend selection', () => {
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  it('falls back to wasm (SIMD) here, where neither tfjs-node nor tfjs-node-gpu is installed', async () => {
    const choice = await selectBackend('auto', { log });
    expect(choice).toMatchObject({ backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', simd: true, preference: 'auto' });
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.join('\n')).toMatch(/@tensorflow\/tfjs-node-gpu not installed/);
    expect(choice.skipped.join('\n')).toMatch(/@tensorflow\/tfjs-node not installed/);
    expect(lines.at(-1)).toMatch(/^TF\.js backend: wasm \(SIMD\)/);
    // Runs real kernels from the local .wasm binary (no network).
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
    await expect(selectBackend('tensorflow', { log })).rejects.toThrow(/'tensorflow' was requested but is unavailable: .*tfjs-node/);
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
