import * as tf from '@tensorflow/tfjs';
import { FeatureBatch } from './batches';

/** k values the cosine kNN baseline is scored with; the best on the validation split is its result. */
export const KNN_K_GRID: readonly number[] = [1, 5, 10, 20];

export interface KnnResult {
  k: number;
  /** Validation accuracy with that k (similarity-weighted votes). */
  accuracy: number;
  /** Accuracy for every k of the grid, in its order. */
  byK: Array<{ k: number; accuracy: number }>;
}

/**
 * The cosine k-nearest-neighbour baseline: every validation row against every training row, the
 * `maxK` most similar kept per validation row as the training split streams past (memory: the
 * validation split and maxK neighbours per row, never the training split). The similarities of a
 * training batch come from one TF.js product with the validation rows, which are kept normalized
 * and transposed ([dim, rows]: the layout wasm's matmul is fast with).
 */
export class CosineKnn {
  private readonly validationT: tf.Tensor2D;
  private readonly labels: Int32Array;
  private readonly rows: number;
  private readonly maxK: number;
  /** Per validation row: the maxK best similarities (descending) and their training labels. */
  private readonly similarities: Float32Array;
  private readonly neighbours: Int32Array;

  constructor(
    validation: FeatureBatch,
    private readonly dim: number,
    private readonly classes: number,
    private readonly kGrid: readonly number[] = KNN_K_GRID,
  ) {
    if (validation.rows < 1) throw new RangeError('the kNN baseline needs validation rows');
    if (kGrid.length === 0 || kGrid.some((k) => !Number.isInteger(k) || k < 1)) throw new RangeError(`k values must be positive integers, got [${kGrid.join(', ')}]`);
    this.rows = validation.rows;
    this.labels = Int32Array.from(validation.labels.subarray(0, validation.rows));
    this.maxK = Math.max(...kGrid);
    this.similarities = new Float32Array(this.rows * this.maxK).fill(-Infinity);
    this.neighbours = new Int32Array(this.rows * this.maxK).fill(-1);
    const normalized = unitRows(validation.features.subarray(0, validation.rows * dim), dim);
    this.validationT = tf.tidy(() => tf.keep(tf.transpose(tf.tensor2d(normalized, [this.rows, dim]))));
  }

  /** Validation rows held: what its memory grows with. */
  static bytesFor(validationRows: number, dim: number): number {
    return validationRows * dim * 4 * 2;
  }

  /** One batch of training rows (as stored: cosine similarity ignores their scale). */
  addTraining(batch: FeatureBatch): void {
    if (batch.rows === 0) return;
    const rows = batch.rows;
    const unit = unitRows(batch.features.subarray(0, rows * this.dim), this.dim);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(unit, [rows, this.dim]), this.validationT));
    const similarity = product.dataSync() as Float32Array;
    product.dispose();
    const { maxK } = this;
    for (let t = 0; t < rows; t++) {
      const label = batch.labels[t];
      for (let v = 0; v < this.rows; v++) {
        const s = similarity[t * this.rows + v];
        const base = v * maxK;
        if (s <= this.similarities[base + maxK - 1]) continue;
        // Insertion into the row's sorted list (maxK is small).
        let at = maxK - 1;
        while (at > 0 && this.similarities[base + at - 1] < s) {
          this.similarities[base + at] = this.similarities[base + at - 1];
          this.neighbours[base + at] = this.neighbours[base + at - 1];
          at--;
        }
        this.similarities[base + at] = s;
        this.neighbours[base + at] = label;
      }
    }
  }

  /** Accuracy per k (votes weighted by similarity) and the best k; ties go to the smaller k. */
  result(): KnnResult {
    const byK = this.kGrid.map((k) => ({ k, accuracy: this.accuracyAt(k) }));
    const best = byK.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    return { k: best.k, accuracy: best.accuracy, byK };
  }

  dispose(): void {
    this.validationT.dispose();
  }

  private accuracyAt(k: number): number {
    const votes = new Float64Array(this.classes);
    let correct = 0;
    for (let v = 0; v < this.rows; v++) {
      votes.fill(0);
      const base = v * this.maxK;
      for (let i = 0; i < Math.min(k, this.maxK); i++) {
        const label = this.neighbours[base + i];
        if (label >= 0) votes[label] += Math.max(this.similarities[base + i], 0) + 1e-9;
      }
      let predicted = 0;
      for (let c = 1; c < this.classes; c++) if (votes[c] > votes[predicted]) predicted = c;
      if (predicted === this.labels[v]) correct++;
    }
    return correct / this.rows;
  }
}

/** A copy of the rows, each scaled to unit length (a zero row stays zero). */
function unitRows(features: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(features.length);
  for (let base = 0; base < features.length; base += dim) {
    let squares = 0;
    for (let d = base; d < base + dim; d++) squares += features[d] * features[d];
    const scale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    for (let d = base; d < base + dim; d++) out[d] = features[d] * scale;
  }
  return out;
}
