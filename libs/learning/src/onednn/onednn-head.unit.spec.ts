import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeIf } from '@featx/testing';
import { selectBackend } from '@featx/vision';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { createHead, resolveHeadEngine } from '../head';
import { HeadSpec, resolveHeadSpec } from '../head-spec';
import { OptimizerSpec } from '../optimizers';
import { clusters, slice } from '../testing/synthetic';
import { PARITY_CASES, PARITY_CLASS_WEIGHTS, PARITY_DIM, expectClose, expectNear, expectCheckpointContinues, expectSameStepsAsTfjs, parityBatches, parityData, snapshot } from '../testing/engine-parity';
import { UploadedBatch } from '../uploaded-batch';
import { fromFloat16, useFloat16Decoder } from '@featx/features';
import { DENSE_ADDON_HINT, KernelForward, denseAddonStatus, registerNativeFloat16Decoder, requireDenseAddon } from './dense-addon';
import { OnednnHead } from './onednn-head';

// The oneDNN engine against the TF.js one (the reference), step by step on fixed seeds: the cases of
// onnx/onnx-head.unit.spec.ts, and the addon's argument checks.
const DIM = PARITY_DIM;
const data = parityData;
const batches = parityBatches;
const CLASS_WEIGHTS = PARITY_CLASS_WEIGHTS;

const addon = denseAddonStatus();
const notBuilt = addon.available ? '' : `${addon.reason}; ${DENSE_ADDON_HINT}`;
const skipReason = 'featx_dense.node not built: npm run build:native (needs libdnnl-dev)';

// CI builds the addon (.ci/run installs libdnnl-dev before npm ci): there a missing addon is a failure.
if (!addon.available && process.env.CI === 'true') {
  it('has the onednn engine addon built (CI)', () => {
    throw new Error(`featx_dense.node is missing in CI: ${notBuilt}`);
  });
}




describeIf(addon.available, skipReason)('oneDNN head (engine onednn) against the TF.js head', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it.each(PARITY_CASES)('takes the same steps: %s', (_, spec, optimizer, weighted) => {
    const head = expectSameStepsAsTfjs('onednn', spec, optimizer, weighted);
    expect(head).toBeInstanceOf(OnednnHead);
    head.dispose();
  });

  it('takes exactly the same steps whether its weights are read after every step or never (updates applied in the next forward pass)', () => {
    // 260 units: two unit blocks of tiles in the second layer.
    const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 260], dropout: 0.2, l2: 0.01 };
    const uneven = [...batches.slice(0, 5), slice(data, 40, 5), ...batches.slice(6)]; // a 5-row batch among 8-row ones
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'sgd', learningRate: 0.05 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const [read, unread] = [0, 1].map(() => createHead(spec, 11, optimizer, undefined, { engine: 'onednn' }));
      for (const batch of uneven) {
        const options = { classWeights: CLASS_WEIGHTS };
        const features = batch.features.slice();
        const expected = read.trainBatch(batch.features, batch.labels, options);
        expect(unread.trainBatch(features, batch.labels, options)).toEqual(expected);
        features.fill(Number.NaN); // the caller reuses its array: the pending update kept its own copy
        snapshot(read); // applies read's pending updates: its next forward runs without one
      }
      expect(unread.evaluateBatch(data.features, data.labels)).toEqual(read.evaluateBatch(data.features, data.labels));
      expect(snapshot(unread)).toEqual(snapshot(read));
      [read, unread].forEach((head) => head.dispose());
    }
  });

  it('takes exactly the same steps with trainBatchAsync (the first layer\'s pass on a worker thread), and refuses other use while a pass is out', async () => {
    const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 260], dropout: 0.2, l2: 0.01 };
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'sgd', learningRate: 0.05 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const [sync, async] = [0, 1].map(() => createHead(spec, 5, optimizer, undefined, { engine: 'onednn' }));
      expect(async.trainBatchAsync).toBeDefined();
      for (const batch of batches) {
        const options = { classWeights: CLASS_WEIGHTS };
        const expected = sync.trainBatch(batch.features, batch.labels, options);
        const step = async.trainBatchAsync!(batch.features, batch.labels, options);
        expect(() => async.trainBatch(batch.features, batch.labels)).toThrow(/still running a step: await trainBatchAsync/);
        expect(() => async.predictProba(batch.features)).toThrow(/still running a step/);
        expect(() => async.parameters()).toThrow(/still running a step/);
        expect(await step).toEqual(expected);
      }
      expect(async.evaluateBatch(data.features, data.labels)).toEqual(sync.evaluateBatch(data.features, data.labels));
      expect(snapshot(async)).toEqual(snapshot(sync));
      [sync, async].forEach((head) => head.dispose());
    }
  });

  it('takes exactly the same steps reading the features in place where the caller keeps them until the next step (featuresKeptUntilNextStep)', async () => {
    const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 260], dropout: 0.2, l2: 0.01 };
    const uneven = [...batches.slice(0, 5), slice(data, 40, 5), ...batches.slice(6)];
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const [copying, inPlace] = [0, 1].map(() => createHead(spec, 7, optimizer, undefined, { engine: 'onednn' }));
      let kept: Float32Array | undefined;
      for (const [i, batch] of uneven.entries()) {
        const features = batch.features.slice();
        const expected = copying.trainBatch(batch.features, batch.labels, { classWeights: CLASS_WEIGHTS });
        const step = i % 2 ? inPlace.trainBatchAsync!(features, batch.labels, { classWeights: CLASS_WEIGHTS, featuresKeptUntilNextStep: true }) : Promise.resolve(inPlace.trainBatch(features, batch.labels, { classWeights: CLASS_WEIGHTS, featuresKeptUntilNextStep: true }));
        expect(await step).toEqual(expected);
        kept?.fill(Number.NaN); // the step before the last may change now: its update has been applied
        kept = features;
      }
      expect(snapshot(inPlace)).toEqual(snapshot(copying)); // applies the last pending update, from `kept` unchanged
      expect(inPlace.evaluateBatch(data.features, data.labels)).toEqual(copying.evaluateBatch(data.features, data.labels));
      [copying, inPlace].forEach((head) => head.dispose());
    }
  });

  it('runs the addon\'s passes as promises with the sync results; bad arguments throw at the call', async () => {
    const dense = requireDenseAddon();
    const [units, inputs, rows] = [3, 7, 2];
    const kernel = Float32Array.from({ length: units * inputs }, (_, i) => Math.sin(i));
    const input = Float32Array.from({ length: rows * inputs }, (_, i) => Math.cos(i));
    const [zSync, zAsync] = [0, 1].map(() => new Float32Array(units * rows));
    const squares = dense.kernelForward(kernel, units, inputs, 4, { input, rows, zT: zSync, squares: true });
    const pending = dense.kernelForwardAsync(kernel, units, inputs, 4, { input, rows, zT: zAsync, squares: true });
    expect(typeof pending.then).toBe('function');
    expect(await pending).toBe(squares);
    expect(zAsync).toEqual(zSync);
    // Bad arguments throw at the call, as the sync functions do; nothing is queued.
    expect(() => dense.kernelForwardAsync(kernel, units, inputs + 1, 4, { input, rows, zT: zAsync, squares: true })).toThrow(/kernelForwardAsync: kernel holds 21 values, expected 24/);
    // An update without a forward resolves with 0, and has updated the kernel as the sync call does.
    const dzT = Float32Array.from({ length: units * rows }, (_, i) => 0.1 * (i - 2));
    const [kSync, kAsync] = [0, 1].map(() => kernel.slice());
    dense.sgdKernelUpdate(kSync, null, dzT, input, units, inputs, rows, 0, 0, 4, null);
    await expect(dense.sgdKernelUpdateAsync(kAsync, null, dzT, input, units, inputs, rows, 0, 0, 4, null)).resolves.toBe(0);
    expect(kAsync).toEqual(kSync);
    expect(kAsync).not.toEqual(kernel);
  });

  it('cuts a kernel into tiles (256 units × chunk columns) without changing a step', () => {
    // 260 units: two unit blocks; chunks of 5 columns: five chunks of the first kernel, some short.
    const spec = resolveHeadSpec({ kind: 'mlp', inputDim: DIM, classes: 3, hidden: [260, 4], dropout: 0.2, l2: 0.01 });
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'sgd', learningRate: 0.05 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const whole = createHead(spec, 3, optimizer, undefined, { engine: 'onednn' });
      const inTiles = new OnednnHead(spec, 3, optimizer, undefined, 5);
      // The forward adds its tiles' products chunk by chunk: other chunks, other float rounding.
      for (const batch of batches.slice(0, 6)) {
        const [a, b] = [whole, inTiles].map((head) => head.trainBatch(batch.features, batch.labels, { classWeights: CLASS_WEIGHTS }));
        expectNear(b.loss, a.loss);
      }
      expectClose(snapshot(inTiles), snapshot(whole), 1e-5);
      whole.dispose();
      inTiles.dispose();
    }
  });

  it('evaluates a batch larger than its forward block (256 rows) block by block', () => {
    const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16] };
    const head = createHead(spec, 9, { kind: 'sgd', learningRate: 0.05 }, undefined, { engine: 'onednn' });
    const reference = createHead(spec, 9, { kind: 'sgd', learningRate: 0.05 });
    const many = clusters(600, DIM, 3, 8); // blocks of 256, 256 and 88 rows
    const [p, q] = [head, reference].map((h) => h.predictProba(many.features));
    expect(p.length).toBe(600 * 3);
    p.forEach((value, i) => expectNear(value, q[i]));
    expect(head.evaluateBatch(many.features, many.labels).predicted).toEqual(reference.evaluateBatch(many.features, many.labels).predicted);
    [head, reference].forEach((h) => h.dispose());
  });

  it('trains and evaluates on a shared batch without uploading it to TF.js', () => {
    const spec: HeadSpec = { kind: 'logistic', inputDim: DIM, classes: 3 };
    const [onednn, reference] = [createHead(spec, 2, undefined, undefined, { engine: 'onednn' }), createHead(spec, 2)];
    const batch = new UploadedBatch(batches[0].features, batches[0].labels, resolveHeadSpec(spec));
    const tensors = tf.memory().numTensors;
    const result = onednn.trainOn(batch);
    onednn.evaluateOn(batch);
    expect(tf.memory().numTensors).toBe(tensors); // nothing uploaded
    expectNear(result.loss, reference.trainOn(batch).loss); // the TF.js head uploads it on first use
    expect(tf.memory().numTensors).toBeGreaterThan(tensors);
    batch.dispose();
    [onednn, reference].forEach((head) => head.dispose());
  });

  it('decodes every float16 value as @featx/features does, and fromFloat16 uses it once registered', () => {
    const halves = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const reference = fromFloat16(halves);
    const native = new Float32Array(halves.length);
    requireDenseAddon().float16ToFloat32(halves, native);
    const [expectedBits, actualBits] = [reference, native].map((values) => new Uint32Array(values.buffer));
    for (let half = 0; half < 0x10000; half++) {
      // NaN halves may come back quieted (F16C); every other half bit for bit.
      if (Number.isNaN(reference[half])) expect(Number.isNaN(native[half])).toBe(true);
      else if (actualBits[half] !== expectedBits[half]) throw new Error(`half 0x${half.toString(16)}: ${native[half]}, expected ${reference[half]}`);
    }
    // An odd length and an unaligned start (the tail without F16C's 8-wide steps).
    const odd = halves.subarray(3, 3 + 21);
    const out = new Float32Array(21);
    requireDenseAddon().float16ToFloat32(odd, out);
    expect(Array.from(out)).toEqual(Array.from(reference.subarray(3, 24)));
    expect(() => requireDenseAddon().float16ToFloat32(odd, new Float32Array(20))).toThrow(/float16ToFloat32: out holds 20 values, halves 21/);
    expect(() => requireDenseAddon().float16ToFloat32(new Float32Array(4) as never, new Float32Array(4))).toThrow(/halves must be a Uint16Array/);
    try {
      expect(registerNativeFloat16Decoder()).toBe(true);
      expect(Array.from(fromFloat16(odd))).toEqual(Array.from(reference.subarray(3, 24)));
    } finally {
      useFloat16Decoder(undefined);
    }
  });

  it('is what `auto` resolves to where its addon loads', () => {
    expect(resolveHeadEngine('auto')).toBe('onednn');
    expect(resolveHeadEngine()).toBe('tfjs');
  });

  describe('checkpoints', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-onednn-checkpoint-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('save → load → continue gives exactly the steps of the uninterrupted run, and either engine reads the checkpoint', async () => {
      const restored = await expectCheckpointContinues('onednn', dir);
      expect(restored).toBeInstanceOf(OnednnHead);
      restored.dispose();
    });

    it('continues a checkpoint of the TF.js head (Adam, L2) as the TF.js head does', async () => {
      const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [12], l2: 0.01 };
      const optimizer: OptimizerSpec = { kind: 'adam', learningRate: 0.01 };
      const original = createHead(spec, 6, optimizer);
      batches.slice(0, 4).forEach((b) => original.trainBatch(b.features, b.labels));
      await saveCheckpoint(original, dir);
      const onOnednn = await loadCheckpoint(dir, { engine: 'onednn' });
      expect(snapshot(onOnednn)).toEqual(snapshot(original));
      for (const b of batches.slice(4)) expectNear(onOnednn.trainBatch(b.features, b.labels).loss, original.trainBatch(b.features, b.labels).loss);
      expectClose(snapshot(onOnednn), snapshot(original), 1e-4);
      [original, onOnednn].forEach((head) => head.dispose());
    });

    it('names a checkpoint tensor of the wrong size', () => {
      const spec = resolveHeadSpec({ kind: 'logistic', inputDim: 4, classes: 2 });
      const values = new Map([
        ['dense_1/kernelT', new Float32Array(7)],
        ['dense_1/bias', new Float32Array(2)],
      ]);
      expect(() => new OnednnHead(spec, 1, { kind: 'sgd', learningRate: 0.1 }, { step: 0, values })).toThrow(/'dense_1\/kernelT' has 7 values, expected 8/);
      const withVelocity = new Map([...values, ['dense_1/kernelT', new Float32Array(8)], ['velocity/dense_1/kernelT', new Float32Array(8)], ['velocity/dense_1/bias', new Float32Array(3)]]);
      expect(() => new OnednnHead(spec, 1, { kind: 'sgd', learningRate: 0.1, momentum: 0.9 }, { step: 0, values: withVelocity })).toThrow(
        /'velocity\/dense_1\/bias' has 3 values, expected 2/,
      );
    });
  });
});

describeIf(addon.available, skipReason)('featx_dense.node', () => {
  const native = addon.available ? addon.addon : undefined!;
  const f = (...values: number[]) => Float32Array.from(values);

  it('multiplies row-major matrices in every transposition, on views at an offset', () => {
    const a = f(1, 2, 3, 4, 5, 6); // [2, 3]
    const b = f(1, 0, 2, 1, 0, 1); // [3, 2]
    const c = f(1, 1, 1, 1);
    native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
    expect([...c]).toEqual([5, 5, 14, 11]);
    native.gemm(false, false, 2, 2, 3, 2, a, 3, b, 2, 1, c, 2); // C = 2·A·B + C
    expect([...c]).toEqual([15, 15, 42, 33]);
    const aT = f(1, 4, 2, 5, 3, 6); // Aᵀ [3, 2]
    const bT = f(1, 2, 0, 0, 1, 1); // Bᵀ [2, 3]
    native.gemm(true, true, 2, 2, 3, 1, aT, 2, bT, 3, 0, c, 2);
    expect([...c]).toEqual([5, 5, 14, 11]);
    const padded = new Float32Array(10);
    native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, padded.subarray(2), 4); // ldc 4: rows 4 values apart
    expect([...padded]).toEqual([0, 0, 5, 5, 0, 0, 14, 11, 0, 0]);
  });

  it('updates a kernel as the formulas say, then runs the forward of the updated weights in the same pass', () => {
    // kernel [1, 2], dzT [1, 1], input [1, 2]: g = dzT·input = [2·3, 2·4]
    const kernel = f(1, -1);
    const velocity = f(0.5, 0.5);
    expect(native.sgdKernelUpdate(kernel, velocity, f(2), f(3, 4), 1, 2, 1, 0.5, 0.25, 512, null)).toBe(0);
    expect([...velocity]).toEqual([0.25 + 6 + 0.25, 0.25 + 8 - 0.25]); // m·v + g + decay·w
    expect([...kernel]).toEqual([1 + 6.5, -1 + 8]);
    const zT = new Float32Array(2); // [units 1, rows 2]
    const plain = f(1, -1);
    expect(native.sgdKernelUpdate(plain, null, f(2), f(3, 4), 1, 2, 1, 0, 0, 1, { input: f(1, 0, 0, 2), rows: 2, zT, squares: true })).toBe(98);
    expect([...plain]).toEqual([7, 7]); // w + g
    expect([...zT]).toEqual([7, 14]); // the updated kernel · [1, 0] and · [0, 2]; Σw² = 49 + 49
    const keep = new Float32Array(2);
    expect(native.kernelForward(plain, 1, 2, 512, { input: f(1, 1), rows: 1, zT: zT.subarray(0, 1), squares: true, keep })).toBe(98);
    expect(zT[0]).toBe(14);
    expect([...keep]).toEqual([1, 1]); // the input, copied as the pass went

    const [w, m, v] = [f(1), f(0), f(0)];
    const squares = native.adamKernelUpdate(w, m, v, f(1), f(2), 1, 1, 1, 0.1, 0.9, 0.999, 1e-7, 0, 512, { input: f(1), rows: 1, zT: zT.subarray(0, 1), squares: true });
    expect(m[0]).toBeCloseTo(0.2, 6); // (1 − β1)·g
    expect(v[0]).toBeCloseTo(0.004, 6); // (1 − β2)·g²
    expect(w[0]).toBeCloseTo(1 - (0.1 * 0.2) / (Math.sqrt(0.004) + 1e-7), 6);
    expect(squares).toBeCloseTo(w[0] * w[0], 6);
    expect(zT[0]).toBe(w[0]);

    const y = f(1, 2, 3);
    native.axpy(2, f(1, 1, 1), y);
    expect([...y]).toEqual([3, 4, 5]);
    expect(native.threads()).toBeGreaterThanOrEqual(1);
    expect(native.info().onednn).toMatch(/^\d+\.\d+\.\d+$/);
  });

  /** The CPU's widest of featx's kernels: AVX-512, else AVX2 with FMA, else none (oneDNN's passes, portable loops). */
  const widestKernels = () => {
    const flags = os.platform() === 'linux' ? readFileSync('/proc/cpuinfo', 'utf8') : '';
    return /\bavx512f\b/.test(flags) ? 'avx512' : /\bavx2\b/.test(flags) && /\bfma\b/.test(flags) ? 'avx2' : 'portable';
  };
  /** Every fused kernel set this CPU runs (a CPU with AVX-512 has AVX2 and FMA too): each is tested, not only the widest. */
  const cpuKernels = (): Array<'avx2' | 'avx512'> => ({ avx512: ['avx2', 'avx512'] as const, avx2: ['avx2'] as const, portable: [] as const })[widestKernels()].slice();

  it('takes the fused passes in the CPU\'s widest kernels (AVX-512, else AVX2 with FMA), each with the oneDNN passes\' results on odd shapes', () => {
    const cpuHasKernels = widestKernels() !== 'portable';
    expect(native.info().fusedPasses).toBe(cpuHasKernels);
    expect(native.info().kernels).toBe(widestKernels());
    // Shapes off every block size: units not a multiple of the register block (4) and more than one
    // 256-unit tile, columns not a multiple of 16 nor of a chunk, update rows < 32, forward rows > 32
    // (a masked last vector), and a kernel large enough to be passed over both threads.
    const shapes: Array<[units: number, inputs: number, rows: number, forwardRows: number]> = [
      [7, 37, 5, 3],
      [301, 1111, 31, 50],
      [5, 17, 1, 1],
    ];
    const random = (count: number, seed: number, scale = 1) => {
      let state = seed;
      return Float32Array.from({ length: count }, () => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return (state / 4294967296 - 0.5) * scale;
      });
    };
    try {
      for (const [units, inputs, rows, forwardRows] of shapes) {
        const size = units * inputs;
        const start = { kernel: random(size, 1), first: random(size, 2, 0.01), second: random(size, 3, 0.001).map(Math.abs) };
        const input = random(rows * inputs, 4);
        const next = random(forwardRows * inputs, 5);
        const dzT = random(units * rows, 6, 0.01);
        const passes = {
          'SGD with momentum and L2': (s: typeof start, forward: KernelForward) => native.sgdKernelUpdate(s.kernel, s.first, dzT, input, units, inputs, rows, 0.9, -1e-3, 512, forward),
          'plain SGD and L2': (s: typeof start, forward: KernelForward) => native.sgdKernelUpdate(s.kernel, null, dzT, input, units, inputs, rows, 0, -1e-3, 512, forward),
          'Adam and L2': (s: typeof start, forward: KernelForward) => native.adamKernelUpdate(s.kernel, s.first, s.second, dzT, input, units, inputs, rows, 1e-3, 0.9, 0.999, 1e-7, 2e-3, 512, forward),
          'forward alone': (s: typeof start, forward: KernelForward) => native.kernelForward(s.kernel, units, inputs, 512, forward),
        };
        for (const [name, pass] of Object.entries(passes)) {
          const run = (kernels: 'portable' | 'avx2' | 'avx512') => {
            expect(native.setKernels(kernels)).toBe(kernels);
            expect(native.info().fusedPasses).toBe(kernels !== 'portable');
            const state = { kernel: start.kernel.slice(), first: start.first.slice(), second: start.second.slice() };
            const forward = { input: next, rows: forwardRows, zT: new Float32Array(units * forwardRows), squares: true, keep: new Float32Array(next.length) };
            const squares = pass(state, forward);
            return { ...state, zT: forward.zT, squares, keep: forward.keep };
          };
          const onednn = run('portable');
          for (const kernels of cpuKernels()) {
            const fused = run(kernels);
            const context = `${name} (${kernels}), ${units} × ${inputs}, rows ${rows} → ${forwardRows}`;
            for (const key of ['kernel', 'first', 'second', 'zT'] as const) expectNearArrays(fused[key], onednn[key], `${context}: ${key}`);
            expect(Math.abs(fused.squares - onednn.squares)).toBeLessThanOrEqual(1e-6 * onednn.squares);
            expect([...fused.keep]).toEqual([...next]);
          }
        }
      }
    } finally {
      native.setFusedPasses(true);
    }
  });

  it('gives the logistic loss and its gradient in one pass as a float64 reference does, in the CPU\'s widest kernels or the portable loops, whatever the threads', () => {
    /** The loss Σ w·(−log p[label]) and R = scale·w·(softmax − onehot), Rᵀ·X, Σ R in float64. */
    const reference = (x: Float32Array, rows: number, dim: number, labels: Int32Array, weights: Float32Array | null, kernelT: Float32Array, bias: Float32Array, scale: number) => {
      const classes = bias.length;
      const kernelGradient = new Float64Array(classes * dim);
      const biasGradient = new Float64Array(classes);
      let loss = 0;
      for (let r = 0; r < rows; r++) {
        const z = Array.from(bias, (b, c) => {
          let sum = b;
          for (let d = 0; d < dim; d++) sum += x[r * dim + d] * kernelT[c * dim + d];
          return sum;
        });
        const max = Math.max(...z);
        const sum = z.reduce((s, v) => s + Math.exp(v - max), 0);
        const w = weights ? weights[r] : 1;
        loss += w * (max + Math.log(sum) - z[labels[r]]);
        for (let c = 0; c < classes; c++) {
          const residual = scale * w * (Math.exp(z[c] - max) / sum - (c === labels[r] ? 1 : 0));
          biasGradient[c] += residual;
          for (let d = 0; d < dim; d++) kernelGradient[c * dim + d] += residual * x[r * dim + d];
        }
      }
      return { loss, kernelGradient, biasGradient };
    };
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const fusedBefore = native.info().fusedPasses;
    const threadsBefore = native.threads();
    try {
      // Odd shapes: columns past a 16-lane vector, classes past 4- and 8-wide tiles, rows past 4-row tiles and 48-row blocks.
      for (const [rows, dim, classes] of [[1, 1, 1], [7, 37, 3], [101, 20, 10], [230, 300, 13]]) {
        const x = Float32Array.from({ length: rows * dim }, random);
        const labels = Int32Array.from({ length: rows }, (_, r) => (r * 7) % classes);
        const kernelT = Float32Array.from({ length: classes * dim }, () => random() * 0.3);
        const bias = Float32Array.from({ length: classes }, random);
        for (const weights of [null, Float32Array.from({ length: rows }, () => 1 + random() * 0.5)]) {
          const expected = reference(x, rows, dim, labels, weights, kernelT, bias, 1 / rows);
          const results = [];
          const runs = [...cpuKernels().flatMap((kernels) => [[kernels, 1], [kernels, 2]] as const), ['portable', 1], ['portable', 2]] as const;
          for (const [kernels, threads] of runs) {
            expect(native.setKernels(kernels)).toBe(kernels);
            native.setThreads(threads);
            const kernelGradient = new Float32Array(classes * dim).fill(Number.NaN);
            const biasGradient = new Float32Array(classes).fill(Number.NaN);
            const loss = native.logisticObjective(x, rows, dim, labels, weights, kernelT, bias, 1 / rows, kernelGradient, biasGradient);
            expect(loss).toBeCloseTo(expected.loss, 3);
            const scale = Math.max(...expected.kernelGradient.map(Math.abs), 1e-3);
            expected.kernelGradient.forEach((value, i) => expect(Math.abs(kernelGradient[i] - value)).toBeLessThan(scale * 1e-4));
            expected.biasGradient.forEach((value, c) => expect(biasGradient[c]).toBeCloseTo(value, 5));
            results.push({ loss, kernelGradient, biasGradient, kernels, threads });
          }
          // The threads change nothing, bit for bit (runs come in pairs: 1 thread, then 2, for each kernel set).
          for (let i = 0; i < results.length; i += 2) {
            expect(results[i + 1].kernels).toBe(results[i].kernels);
            expect(results[i + 1].loss).toBe(results[i].loss);
            expect(results[i + 1].kernelGradient).toEqual(results[i].kernelGradient);
            expect(results[i + 1].biasGradient).toEqual(results[i].biasGradient);
          }
        }
      }
    } finally {
      native.setFusedPasses(fusedBefore);
      native.setThreads(threadsBefore);
    }
  });

  it('refuses every bad argument with an error naming it, and leaves the arrays alone', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    const gemm = (...overrides: Array<[number, unknown]>) => {
      const args: unknown[] = [false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2];
      for (const [i, value] of overrides) args[i] = value;
      return () => (native.gemm as (...args: unknown[]) => void)(...args);
    };
    expect(() => (native.gemm as (...args: unknown[]) => void)(false, false)).toThrow(new TypeError('gemm: expects 13 arguments, got 2'));
    expect(gemm([0, 'N'])).toThrow(new TypeError('gemm: transA must be a boolean'));
    expect(gemm([2, 0])).toThrow(new RangeError('gemm: m must be an integer from 1 to 2147483647, got 0'));
    expect(gemm([4, 2.5])).toThrow(new RangeError('gemm: k must be an integer from 1 to 2147483647, got 2.5'));
    expect(gemm([3, 2 ** 31])).toThrow(new RangeError('gemm: n must be an integer from 1 to 2147483647, got 2147483648'));
    expect(gemm([5, Number.NaN])).toThrow(/^gemm: alpha must be finite/);
    expect(gemm([6, [1, 2, 3, 4, 5, 6]])).toThrow(new TypeError('gemm: a must be a Float32Array'));
    expect(gemm([6, new Float64Array(6)])).toThrow(new TypeError('gemm: a must be a Float32Array'));
    expect(gemm([7, 2])).toThrow(new RangeError('gemm: lda must be ≥ 3 (a is 2 × 3), got 2'));
    expect(gemm([4, 4])).toThrow(new RangeError('gemm: lda must be ≥ 4 (a is 2 × 4), got 3'));
    expect(gemm([4, 4], [7, 4])).toThrow(new RangeError('gemm: a holds 6 values, needs 8 (2 × 4, lda 4)'));
    expect(gemm([8, new Float32Array(5)])).toThrow(new RangeError('gemm: b holds 5 values, needs 6 (3 × 2, ldb 2)'));
    expect(gemm([12, 3])).toThrow(new RangeError('gemm: c holds 4 values, needs 5 (2 × 2, ldc 3)'));
    expect(gemm([11, a.subarray(0, 4)])).toThrow(new RangeError('gemm: c overlaps a (they must be separate memory)'));
    const detached = new Float32Array(6);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(gemm([6, detached])).toThrow(new RangeError('gemm: a holds 0 values, needs 6 (2 × 3, lda 3)'));

    const kernel = new Float32Array(6); // [2, 3]
    const forward = { input: new Float32Array(3), rows: 1, zT: new Float32Array(2), squares: false };
    const update = (...overrides: Array<[number, unknown]>) => {
      const args: unknown[] = [kernel, new Float32Array(6), new Float32Array(4), new Float32Array(6), 2, 3, 2, 0.9, 0, 512, forward];
      for (const [i, value] of overrides) args[i] = value;
      return () => (native.sgdKernelUpdate as (...args: unknown[]) => number)(...args);
    };
    expect(update()()).toBe(0);
    expect(update([1, new Float32Array(5)])).toThrow(new RangeError("sgdKernelUpdate: velocity holds 5 values, expected 6 (the kernel's size)"));
    expect(update([1, null])).toThrow(/^sgdKernelUpdate: momentum 0\.9.* needs a velocity array$/);
    expect(update([2, new Float32Array(3)])).toThrow(new RangeError('sgdKernelUpdate: dzT holds 3 values, expected 4 (units × rows = 2 × 2)'));
    expect(update([3, new Float32Array(7)])).toThrow(new RangeError('sgdKernelUpdate: input holds 7 values, expected 6 (rows × inputs = 2 × 3)'));
    expect(update([1, kernel])).toThrow(new RangeError('sgdKernelUpdate: velocity overlaps kernel (they must be separate memory)'));
    expect(update([9, 0])).toThrow(new RangeError('sgdKernelUpdate: chunk must be an integer from 1 to 2147483647, got 0'));
    expect(update([10, 1])).toThrow(new TypeError('sgdKernelUpdate: forward must be an object { input, rows, zT, squares, keep? } or null'));
    expect(update([10, { ...forward, keep: new Float32Array(2) }])).toThrow(new RangeError('sgdKernelUpdate: forward.keep holds 2 values, expected 3 (as many as forward.input)'));
    const dzT = new Float32Array(4);
    expect(update([2, dzT], [10, { ...forward, zT: dzT.subarray(0, 2) }])).toThrow(new RangeError('sgdKernelUpdate: forward.zT overlaps dzT (they must be separate memory)'));
    expect(update([10, { ...forward, rows: 2 }])).toThrow(new RangeError('sgdKernelUpdate: forward.input holds 3 values, expected 6 (rows × inputs = 2 × 3)'));
    expect(update([10, { ...forward, zT: new Float32Array(3) }])).toThrow(new RangeError('sgdKernelUpdate: forward.zT holds 3 values, expected 2 (units × rows = 2 × 1)'));
    expect(update([10, { ...forward, squares: 'yes' }])).toThrow(new TypeError('sgdKernelUpdate: forward.squares must be a boolean'));
    expect(update([10, { ...forward, zT: kernel.subarray(0, 2) }])).toThrow(new RangeError('sgdKernelUpdate: forward.zT overlaps kernel (they must be separate memory)'));
    const adam = (...overrides: Array<[number, unknown]>) => {
      const args: unknown[] = [kernel, new Float32Array(6), new Float32Array(6), new Float32Array(4), new Float32Array(6), 2, 3, 2, 0.1, 0.9, 0.999, 1e-7, 0, 512, null];
      for (const [i, value] of overrides) args[i] = value;
      return () => (native.adamKernelUpdate as (...args: unknown[]) => number)(...args);
    };
    expect(adam()()).toBe(0);
    expect(adam([2, undefined])).toThrow(new TypeError('adamKernelUpdate: v must be a Float32Array'));
    const slot = new Float32Array(6);
    expect(adam([1, slot], [2, slot])).toThrow(new RangeError('adamKernelUpdate: m overlaps v (they must be separate memory)'));
    expect(adam([8, Infinity])).toThrow(/^adamKernelUpdate: alpha must be finite/);
    expect(adam([14, { ...forward, input: slot.subarray(0, 3) }], [1, slot])).toThrow(new RangeError('adamKernelUpdate: m overlaps forward.input (they must be separate memory)'));
    expect(kernel.every((value) => value === 0)).toBe(true);
    expect(() => native.kernelForward(kernel, 2, 3, 512, { ...forward, zT: new Float32Array(3) })).toThrow(
      new RangeError('kernelForward: forward.zT holds 3 values, expected 2 (units × rows = 2 × 1)'),
    );
    expect(() => (native.kernelForward as (...args: unknown[]) => number)(kernel, 2, 3, 512, null)).toThrow(
      new TypeError('kernelForward: forward must be an object { input, rows, zT, squares, keep? }'),
    );

    const objective = (...overrides: Array<[number, unknown]>) => {
      const args: unknown[] = [new Float32Array(6), 2, 3, Int32Array.from([0, 1]), null, new Float32Array(6), new Float32Array(2), 0.5, new Float32Array(6), new Float32Array(2)];
      for (const [i, value] of overrides) args[i] = value;
      return () => (native.logisticObjective as (...args: unknown[]) => number)(...args);
    };
    expect(objective()()).toBeCloseTo(2 * Math.log(2), 6);
    expect(objective([3, [0, 1]])).toThrow(new TypeError('logisticObjective: labels must be an Int32Array'));
    expect(objective([3, Int32Array.from([0, 2])])).toThrow(new RangeError('logisticObjective: label 2 of row 1 is outside [0, 2)'));
    expect(objective([3, Int32Array.from([0])])).toThrow(new RangeError('logisticObjective: labels holds 1 values, needs 2 (one a row)'));
    expect(objective([0, new Float32Array(5)])).toThrow(new RangeError('logisticObjective: features holds 5 values, needs 6 (rows × dim)'));
    expect(objective([4, new Float32Array(1)])).toThrow(new RangeError('logisticObjective: sampleWeights holds 1 values, needs 2 (one a row)'));
    expect(objective([6, new Float32Array(0)])).toThrow(new RangeError('logisticObjective: bias must hold one value a class, got none'));
    expect(objective([5, new Float32Array(9)])).toThrow(new RangeError('logisticObjective: kernelT holds 9 values, expected 6 (classes × dim, classes = bias.length)'));
    expect(objective([9, new Float32Array(3)])).toThrow(new RangeError('logisticObjective: biasGradient holds 3 values, expected 2 (one a class)'));
    const shared = new Float32Array(6);
    expect(objective([5, shared], [8, shared])).toThrow(new RangeError('logisticObjective: kernelGradient overlaps kernelT (they must be separate memory)'));
    expect(objective([7, Number.NaN])).toThrow(/^logisticObjective: scale must be finite/);
    expect(() => native.setKernels('sse' as never)).toThrow(new RangeError("setKernels: kernels must be 'avx512', 'avx2' or 'portable', got 'sse'"));
    expect(() => (native.setKernels as (...args: unknown[]) => string)(true)).toThrow(new TypeError('setKernels: kernels must be a string'));
    expect(native.info().kernels).toBe(widestKernels());

    expect(() => native.axpy(1, new Float32Array(3), new Float32Array(2))).toThrow(new RangeError('axpy: y holds 2 values, expected 3 (as many as x)'));
    expect(() => native.setThreads(0)).toThrow(new RangeError('setThreads: threads must be an integer from 1 to 2147483647, got 0'));
  });
});

describe('createHead with engine onednn', () => {
  it(addon.available ? 'builds an OnednnHead' : 'says why the engine is not available and how to build it', () => {
    const build = () => createHead({ kind: 'logistic', inputDim: 4, classes: 2 }, 1, undefined, undefined, { engine: 'onednn' });
    if (addon.available) {
      expect(build()).toBeInstanceOf(OnednnHead);
    } else {
      expect(build).toThrow(/the onednn head engine is not available: .*npm run build:native.*libdnnl-dev/);
      expect(resolveHeadEngine('auto')).toBe('tfjs');
    }
  });
});

/** Every value of `actual` within 1e-5 of the largest |expected| (float sums in another order), naming the first one that is not. */
function expectNearArrays(actual: Float32Array, expected: Float32Array, what: string): void {
  const scale = expected.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0) || 1;
  const far = actual.findIndex((value, i) => !(Math.abs(value - expected[i]) <= 1e-5 * scale));
  if (far >= 0) throw new Error(`${what}: value ${far} is ${actual[far]}, the oneDNN pass gives ${expected[far]}`);
}
