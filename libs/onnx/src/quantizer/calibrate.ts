import * as os from 'node:os';
import type * as ortTypes from 'onnxruntime-node';

import { CALIBRATION_METHODS, type CalibrationMethod } from '@featx/contracts';

export { CALIBRATION_METHODS, type CalibrationMethod };

export interface TensorRange {
  min: number;
  max: number;
}

/** A batch of network inputs (the graph's first input; NHWC images for featx exports). */
export interface CalibrationBatch {
  data: Float32Array;
  dims: number[];
}

export interface CalibrateOptions {
  method?: CalibrationMethod;
  /** Share of values inside the range for 'percentile' (default 0.99999, on each side). */
  percentile?: number;
  /** ONNX Runtime threads; default the cores this process may use. */
  threads?: number;
  /** Called after each batch with the images done so far (per pass). */
  progress?: (pass: string, images: number) => void;
}

const HISTOGRAM_BINS = 2048;

/**
 * The range of each named tensor over the calibration inputs, from an ONNX Runtime session of the
 * fp32 model with those tensors as extra outputs. `minmax`: the extremes seen; `percentile`: a
 * second pass histograms each tensor between its extremes and cuts the tails beyond `percentile`.
 * Each range is widened to hold 0, so that 0.0 (padding, ReLU's floor) is exact.
 * `batches` is called once per pass.
 */
export async function calibrateRanges(
  augmentedModel: Uint8Array,
  tensors: readonly string[],
  batches: () => AsyncIterable<CalibrationBatch>,
  options: CalibrateOptions = {},
): Promise<Map<string, TensorRange>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as typeof ortTypes;
  const session = await ort.InferenceSession.create(augmentedModel, {
    intraOpNumThreads: options.threads ?? os.availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'basic', // keeps every named intermediate tensor
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const inputName = session.inputNames[0]!;
  const ranges = new Map<string, TensorRange>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const method = options.method ?? 'minmax';
  try {
    let images = 0;
    for await (const batch of batches()) {
      const outputs = await runFor(ort, session, inputName, tensors, batch);
      for (const t of tensors) {
        const data = outputs.get(t)!;
        const range = ranges.get(t)!;
        let lo = range.min;
        let hi = range.max;
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        range.min = lo;
        range.max = hi;
      }
      images += batch.dims[0]!;
      options.progress?.('ranges', images);
      await new Promise((resolve) => setImmediate(resolve)); // let the event loop breathe between passes
    }
    if (images === 0) throw new Error('calibration needs at least one input batch');
    for (const [t, range] of ranges) {
      if (!Number.isFinite(range.min) || !Number.isFinite(range.max)) throw new Error(`calibration saw a non-finite value in tensor '${t}'`);
    }
    if (method === 'percentile') await narrowToPercentile(ort, session, inputName, tensors, ranges, batches, options);
  } finally {
    await session.release();
  }
  for (const range of ranges.values()) {
    range.min = Math.min(range.min, 0);
    range.max = Math.max(range.max, 0);
  }
  return ranges;
}

async function narrowToPercentile(
  ort: typeof ortTypes,
  session: ortTypes.InferenceSession,
  inputName: string,
  tensors: readonly string[],
  ranges: Map<string, TensorRange>,
  batches: () => AsyncIterable<CalibrationBatch>,
  options: CalibrateOptions,
): Promise<void> {
  const share = options.percentile ?? 0.99999;
  if (!(share > 0.5 && share <= 1)) throw new Error(`percentile must be in (0.5, 1], got ${share}`);
  const histograms = new Map(tensors.map((t) => [t, new Float64Array(HISTOGRAM_BINS)]));
  let images = 0;
  for await (const batch of batches()) {
    const outputs = await runFor(ort, session, inputName, tensors, batch);
    for (const t of tensors) {
      const data = outputs.get(t)!;
      const { min, max } = ranges.get(t)!;
      const histogram = histograms.get(t)!;
      const perBin = HISTOGRAM_BINS / (max - min || 1);
      for (let i = 0; i < data.length; i++) {
        const bin = Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor((data[i]! - min) * perBin)));
        histogram[bin]!++;
      }
    }
    images += batch.dims[0]!;
    options.progress?.('histograms', images);
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const t of tensors) {
    const range = ranges.get(t)!;
    const histogram = histograms.get(t)!;
    const total = histogram.reduce((a, b) => a + b, 0);
    const width = (range.max - range.min) / HISTOGRAM_BINS;
    const tail = total * (1 - share);
    let below = 0;
    let lowBin = 0;
    while (lowBin < HISTOGRAM_BINS - 1 && below + histogram[lowBin]! <= tail) below += histogram[lowBin++]!;
    let above = 0;
    let highBin = HISTOGRAM_BINS - 1;
    while (highBin > lowBin && above + histogram[highBin]! <= tail) above += histogram[highBin--]!;
    const min = range.min + lowBin * width;
    const max = range.min + (highBin + 1) * width;
    range.min = Math.max(range.min, min);
    range.max = Math.min(range.max, max);
  }
}

/** Each tensor's values for one batch: the input's from the batch itself, the others fetched. */
async function runFor(ort: typeof ortTypes, session: ortTypes.InferenceSession, inputName: string, tensors: readonly string[], batch: CalibrationBatch): Promise<Map<string, Float32Array>> {
  const fetched = tensors.filter((t) => t !== inputName);
  const outputs = fetched.length > 0 ? await session.run({ [inputName]: new ort.Tensor('float32', batch.data, batch.dims) }, fetched) : {};
  return new Map(tensors.map((t) => [t, t === inputName ? batch.data : (outputs[t]!.data as Float32Array)]));
}
