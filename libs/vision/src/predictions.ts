/** One ranked class of a classifier output. */
export interface Prediction {
  /** Index in the model's output vector. */
  index: number;
  label: string;
  score: number;
}

/**
 * The k best classes of one output row. `labelOffset` is the output index of labels[0]
 * (e.g. 1 when output 0 is an unlabeled "background" class).
 */
export function topK(scores: ArrayLike<number>, k: number, labels?: readonly string[], labelOffset = 0): Prediction[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  return order.slice(0, k).map((index) => ({
    index,
    label: labels?.[index - labelOffset] ?? `class ${index}`,
    score: scores[index]!,
  }));
}
