import { seededRandom } from '../seeded-random';

export interface LabelledRows {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
  dim: number;
}

// Module-level bindings: global lookups (Math) are slow inside jest's vm context.
const { sqrt, log, cos, PI } = Math;

/** A standard normal draw (Box–Muller) from a uniform source. */
export function gaussian(random: () => number): number {
  return sqrt(-2 * log(1 - random())) * cos(2 * PI * random());
}

/**
 * Linearly separable data: one centre per class (±`spread` per dimension, random signs), rows are
 * their centre plus unit Gaussian noise. The same `seed` always gives the same centres; `stream`
 * picks an independent set of rows around them (training vs held-out).
 */
export function clusters(rows: number, dim: number, classes: number, seed: number, stream = 0, spread = 3): LabelledRows {
  const centreRandom = seededRandom(seed, 7);
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => (centreRandom() < 0.5 ? -spread : spread)));
  const random = seededRandom(seed, 11, stream);
  const features = new Float32Array(rows * dim);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = r % classes;
    labels[r] = label;
    for (let d = 0; d < dim; d++) features[r * dim + d] = centres[label][d] + gaussian(random);
  }
  return { features, labels, rows, dim };
}

/** Gaussian features with labels drawn independently of them: nothing to learn. */
export function randomLabelled(rows: number, dim: number, classes: number, seed: number): LabelledRows {
  const random = seededRandom(seed, 13);
  const features = Float32Array.from({ length: rows * dim }, () => gaussian(random));
  const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * classes));
  return { features, labels, rows, dim };
}

/** Rows start..start+count of a data set, as views. */
export function slice(data: LabelledRows, start: number, count: number): { features: Float32Array; labels: Int32Array; rows: number } {
  return {
    features: data.features.subarray(start * data.dim, (start + count) * data.dim),
    labels: data.labels.subarray(start, start + count),
    rows: count,
  };
}

/** The data set as an async stream of batches of `batchRows` rows (the last may be shorter). */
export async function* batchesOf(data: LabelledRows, batchRows: number): AsyncGenerator<{ features: Float32Array; labels: Int32Array; rows: number }> {
  for (let start = 0; start < data.rows; start += batchRows) yield slice(data, start, Math.min(batchRows, data.rows - start));
}
