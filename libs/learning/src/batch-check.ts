/** Rows of a (features, labels) batch, after checking that the two agree with the head's shape. */
export function checkedRows(features: Float32Array, labels: Int32Array | undefined, inputDim: number, classes: number): number {
  const rows = labels ? labels.length : features.length / inputDim;
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`a batch needs at least one row of ${inputDim} features, got ${features.length} values`);
  if (features.length !== rows * inputDim) {
    throw new RangeError(`features hold ${features.length} values, expected ${rows} rows × ${inputDim} = ${rows * inputDim}`);
  }
  if (labels) {
    for (let i = 0; i < rows; i++) {
      const label = labels[i];
      if (label < 0 || label >= classes) throw new RangeError(`label ${label} at row ${i} is outside 0..${classes - 1}`);
    }
  }
  return rows;
}

/** Each row's weight: the weight of its class. */
export function sampleWeightsFor(labels: Int32Array, classWeights: Float32Array, classes: number): Float32Array {
  if (classWeights.length !== classes) throw new RangeError(`classWeights has ${classWeights.length} entries, expected ${classes}`);
  const weights = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) weights[i] = classWeights[labels[i]];
  return weights;
}

/** A training batch checked against the head's shape: its rows and, given class weights, each row's weight. */
export function checkedTrainingBatch(
  features: Float32Array,
  labels: Int32Array,
  shape: { inputDim: number; classes: number },
  classWeights?: Float32Array,
): { rows: number; sampleWeights?: Float32Array } {
  const rows = checkedRows(features, labels, shape.inputDim, shape.classes);
  return { rows, sampleWeights: classWeights ? sampleWeightsFor(labels, classWeights, shape.classes) : undefined };
}
