/** Per-dimension mean and standard deviation, as Float32Array of the feature dimension. */
export interface Standardization {
  mean: Float32Array;
  std: Float32Array;
}

export interface RunningStatsOptions {
  /**
   * A dimension whose standard deviation is below this (constant in the training split, e.g. a
   * ReLU unit that never fires) gets std 1: it is centred but not scaled, as scikit-learn's
   * StandardScaler does, so a value it takes later is not multiplied by a million. Default 1e-6.
   */
  minStd?: number;
}

/**
 * Streaming mean and variance per dimension over batches of rows, for standardizing features
 * that never fit in memory at once. Each batch's mean and sum of squared deviations are computed
 * in float64 and merged into the running totals with Chan et al.'s pairwise formula, which stays
 * accurate where the one-pass Σx² − n·mean² would cancel catastrophically.
 */
export class RunningStats {
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly batchMean: Float64Array;
  private readonly batchM2: Float64Array;
  private rows = 0;
  private readonly minStd: number;

  constructor(
    readonly dim: number,
    options: RunningStatsOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
    this.batchMean = new Float64Array(dim);
    this.batchM2 = new Float64Array(dim);
    this.minStd = options.minStd ?? 1e-6;
  }

  /** Rows seen so far. */
  get count(): number {
    return this.rows;
  }

  /** Adds `rows` rows (default all) of row-major `features`. */
  add(features: Float32Array, rows = features.length / this.dim): void {
    const { dim, batchMean, batchM2 } = this;
    if (!Number.isInteger(rows) || rows < 0 || rows * dim > features.length) {
      throw new RangeError(`cannot take ${rows} rows of ${dim} from ${features.length} values`);
    }
    if (rows === 0) return;
    batchMean.fill(0);
    batchM2.fill(0);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      for (let d = 0; d < dim; d++) batchMean[d] += features[base + d];
    }
    for (let d = 0; d < dim; d++) batchMean[d] /= rows;
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      for (let d = 0; d < dim; d++) {
        const deviation = features[base + d] - batchMean[d];
        batchM2[d] += deviation * deviation;
      }
    }
    const before = this.rows;
    const total = before + rows;
    for (let d = 0; d < dim; d++) {
      const delta = batchMean[d] - this.mean[d];
      this.mean[d] += (delta * rows) / total;
      this.m2[d] += batchM2[d] + (delta * delta * before * rows) / total;
    }
    this.rows = total;
  }

  /** Mean and (population) standard deviation so far; see RunningStatsOptions.minStd. */
  result(): Standardization {
    if (this.rows === 0) throw new Error('RunningStats has seen no rows');
    const mean = Float32Array.from(this.mean);
    const std = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++) {
      const value = Math.sqrt(this.m2[d] / this.rows);
      std[d] = value < this.minStd ? 1 : value;
    }
    return { mean, std };
  }
}

/** (x − mean) / std for every row of row-major `features`, in place. */
export function standardizeInPlace(features: Float32Array, stats: Standardization): Float32Array {
  const dim = stats.mean.length;
  if (stats.std.length !== dim) throw new RangeError(`mean has ${dim} values but std ${stats.std.length}`);
  if (features.length % dim !== 0) throw new RangeError(`${features.length} values are not whole rows of ${dim}`);
  const inverse = new Float32Array(dim);
  for (let d = 0; d < dim; d++) inverse[d] = 1 / stats.std[d];
  for (let base = 0; base < features.length; base += dim) {
    for (let d = 0; d < dim; d++) features[base + d] = (features[base + d] - stats.mean[d]) * inverse[d];
  }
  return features;
}

/**
 * Keras-style balanced class weights from class counts: total / (classes · count), so that the
 * average weight over the training rows is 1. A class with no rows gets 0.
 */
export function classWeightsFrom(counts: readonly number[]): Float32Array {
  const total = counts.reduce((sum, count) => sum + count, 0);
  return Float32Array.from(counts, (count) => (count > 0 ? total / (counts.length * count) : 0));
}
