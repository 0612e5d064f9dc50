/**
 * Counts of (true class, predicted class) pairs: `matrix[t][p]` is how many samples of class `t`
 * were predicted as `p`. Labels are class indices `0..classes-1`.
 */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`classes must be a positive integer, got ${classes}`);
  }
  if (truth.length !== predicted.length) {
    throw new RangeError(`truth has ${truth.length} labels but predicted has ${predicted.length}`);
  }
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = checkedLabel(truth[i], classes, 'truth', i);
    const p = checkedLabel(predicted[i], classes, 'predicted', i);
    matrix[t][p] += 1;
  }
  return matrix;
}

function checkedLabel(label: number, classes: number, which: string, index: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= classes) {
    throw new RangeError(`${which}[${index}] = ${label} is not a class index in 0..${classes - 1}`);
  }
  return label;
}
