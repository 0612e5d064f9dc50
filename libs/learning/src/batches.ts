/** Rows of features with their labels, as the trainer streams them. */
export interface FeatureBatch {
  /** rows × dim, row-major. */
  features: Float32Array;
  labels: Int32Array;
  rows: number;
}

function dimOf(batch: FeatureBatch): number {
  const { features, labels, rows } = batch;
  const dim = features.length / rows;
  if (!Number.isInteger(rows) || rows < 1 || labels.length < rows || !Number.isInteger(dim)) {
    throw new RangeError(`malformed batch: ${rows} rows, ${labels.length} labels, ${features.length} values`);
  }
  return dim;
}

/**
 * Re-cuts a stream of batches of any sizes into batches of exactly `batchSize` rows (the last may
 * be shorter). A batch that already has the size passes through untouched; otherwise rows are
 * copied into new arrays, so a yielded batch stays valid however long the consumer keeps it.
 */
export async function* rebatch(source: AsyncIterable<FeatureBatch>, batchSize: number): AsyncGenerator<FeatureBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let dim = 0;
  let pending: FeatureBatch | undefined;
  for await (const batch of source) {
    if (batch.rows === 0) continue;
    const batchDim = dimOf(batch);
    if (dim === 0) dim = batchDim;
    if (batchDim !== dim) throw new RangeError(`batch of dimension ${batchDim} in a stream of dimension ${dim}`);
    if (!pending && batch.rows === batchSize) {
      yield batch.labels.length === batch.rows ? batch : { ...batch, labels: batch.labels.subarray(0, batch.rows) };
      continue;
    }
    for (let taken = 0; taken < batch.rows; ) {
      pending ??= { features: new Float32Array(batchSize * dim), labels: new Int32Array(batchSize), rows: 0 };
      const count = Math.min(batchSize - pending.rows, batch.rows - taken);
      pending.features.set(batch.features.subarray(taken * dim, (taken + count) * dim), pending.rows * dim);
      pending.labels.set(batch.labels.subarray(taken, taken + count), pending.rows);
      pending.rows += count;
      taken += count;
      if (pending.rows === batchSize) {
        yield pending;
        pending = undefined;
      }
    }
  }
  if (pending) yield { features: pending.features.subarray(0, pending.rows * dim), labels: pending.labels.subarray(0, pending.rows), rows: pending.rows };
}

/** Splits batches larger than `maxRows` into views of at most `maxRows` rows (no copies). */
export async function* limitBatchRows(source: AsyncIterable<FeatureBatch>, maxRows: number): AsyncGenerator<FeatureBatch> {
  for await (const batch of source) {
    if (batch.rows === 0) continue;
    const dim = dimOf(batch);
    for (let start = 0; start < batch.rows; start += maxRows) {
      const rows = Math.min(maxRows, batch.rows - start);
      yield { features: batch.features.subarray(start * dim, (start + rows) * dim), labels: batch.labels.subarray(start, start + rows), rows };
    }
  }
}
