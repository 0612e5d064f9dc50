import { selectBackend } from '@featx/vision';
import { createHead } from './head';
import { fitLogisticPath, fitLogisticRegression, InMemoryRows, LogisticFit } from './logistic-lbfgs';
import { clusters } from './testing/synthetic';

/** Rows of three overlapping clusters, shifted far from the origin as CNN features are (all positive). */
function shiftedClusters(): InMemoryRows {
  const data = clusters(120, 6, 3, 5, 0, 1.5);
  const features = data.features.map((x, i) => x + 4 + (i % 6));
  return { features, labels: data.labels, rows: data.rows, dim: 6, classes: 3 };
}

/** The logistic head restored from a fit, its optimizer taking no steps. */
function headOf(fit: { kernelT: Float32Array; bias: Float32Array }, l2: number) {
  return createHead({ kind: 'logistic', inputDim: 6, classes: 3, l2 }, 1, { kind: 'adam', learningRate: 0.02 }, {
    step: 0,
    values: new Map([
      ['dense_1/kernelT', Float32Array.from(fit.kernelT)],
      ['dense_1/bias', Float32Array.from(fit.bias)],
      ['m/dense_1/kernelT', new Float32Array(18)],
      ['v/dense_1/kernelT', new Float32Array(18)],
      ['m/dense_1/bias', new Float32Array(3)],
      ['v/dense_1/bias', new Float32Array(3)],
    ]),
  });
}

describe('fitLogisticRegression', () => {
  beforeAll(() => selectBackend('cpu'));
  const data = shiftedClusters();

  it('minimizes the logistic head’s own objective: Adam steps on every row from the fit go no lower', () => {
    for (const classWeights of [undefined, Float32Array.from([1, 2, 0.5])]) {
      const l2 = 0.01;
      const fit = fitLogisticRegression(data, { l2, classWeights });
      expect(fit.converged).toBe(true);
      const head = headOf(fit, l2);
      const labels = data.labels.slice(0, data.rows);
      // The head's loss before its first step is the objective at the fit: Σ wᵢ·nllᵢ / rows + l2·Σw².
      const first = head.trainBatch(data.features, labels, { classWeights });
      expect(first.loss).toBeCloseTo(fit.loss, 4);
      let lowest = first.loss;
      for (let step = 0; step < 200; step++) lowest = Math.min(lowest, head.trainBatch(data.features, labels, { classWeights }).loss);
      expect(lowest).toBeGreaterThan(fit.loss - 1e-4);
      head.dispose();
    }
  });

  it('gives the weights of the logistic head, which classifies the rows as the fit says', () => {
    const fit = fitLogisticRegression(data, { l2: 0.001 });
    const head = headOf(fit, 0.001);
    const { correct } = head.evaluateBatch(data.features, data.labels.slice(0, data.rows));
    expect(correct / data.rows).toBeCloseTo(fit.accuracy, 10);
    expect(fit.accuracy).toBeGreaterThan(0.8);
    head.dispose();
  });

  it('fits the same with TF.js’ products as with the onednn addon’s', () => {
    const auto = fitLogisticRegression(data, { l2: 0.01 });
    const tfjs = fitLogisticRegression(data, { l2: 0.01, products: 'tfjs' });
    expect(tfjs.loss).toBeCloseTo(auto.loss, 5);
    expect(tfjs.accuracy).toBe(auto.accuracy);
  });

  it('reaches the same optimum from a neighbouring strength’s solution, in fewer iterations', () => {
    const cold = fitLogisticRegression(data, { l2: 0.003 });
    const warm = fitLogisticRegression(data, { l2: 0.003, start: fitLogisticRegression(data, { l2: 0.01 }) });
    expect(warm.loss).toBeCloseTo(cold.loss, 5);
    expect(warm.iterations).toBeLessThan(cold.iterations);
  });

  it('fits a path of strengths, each from the previous solution, as the fits one by one do', () => {
    const strengths = [0.03, 0.01, 0.001];
    let asked = 0;
    const path = fitLogisticPath(data, strengths, { beforeFit: () => asked++ });
    expect(asked).toBe(3);
    let start: LogisticFit | undefined;
    strengths.forEach((l2, k) => {
      const alone = fitLogisticRegression(data, { l2, start });
      start = alone;
      expect(path[k].converged).toBe(true);
      expect(path[k].loss).toBeCloseTo(alone.loss, 5);
      expect(path[k].accuracy).toBe(alone.accuracy);
    });
    expect(() => fitLogisticPath(data, [0.01, Number.NaN])).toThrow(/l2 must be a finite number ≥ 0, got NaN/);
    // Centred in place, the caller's copy: the same fits, and the copy comes back centred.
    const copy = { ...data, features: Float32Array.from(data.features) };
    const inPlace = fitLogisticPath(copy, strengths, { centreInPlace: true });
    inPlace.forEach((fit, k) => expect(fit.loss).toBeCloseTo(path[k].loss, 6));
    for (let d = 0; d < data.dim; d++) {
      let sum = 0;
      for (let r = 0; r < data.rows; r++) sum += copy.features[r * data.dim + d];
      expect(Math.abs(sum / data.rows)).toBeLessThan(1e-4);
    }
  });

  it('refuses bad input, naming it', () => {
    expect(() => fitLogisticRegression({ ...data, labels: Int32Array.from(data.labels).fill(3, 7, 8) }, { l2: 0.01 })).toThrow(/label 3 of row 7 is outside \[0, 3\)/);
    expect(() => fitLogisticRegression(data, { l2: -1 })).toThrow(/l2 must be a finite number ≥ 0, got -1/);
    expect(() => fitLogisticRegression({ ...data, features: data.features.subarray(0, 10) }, { l2: 0 })).toThrow(/features has 10 values, expected rows × dim = 720/);
    expect(() => fitLogisticRegression({ ...data, rows: 0 }, { l2: 0 })).toThrow(/at least one row/);
    expect(() => fitLogisticRegression(data, { l2: 0, start: { kernelT: new Float32Array(3), bias: new Float32Array(3) } })).toThrow(/start weights have 3 \+ 3 values, expected 18 \+ 3/);
  });
});
