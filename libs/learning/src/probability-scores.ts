import { FeatureBatch } from './batches';
import { CandidateViews } from './candidates';
import { TrainableHead } from './head';

/**
 * Scores from class probabilities rather than from one head's logits: what test-time augmentation
 * (an image's probabilities averaged with its mirror's) and ensembles (several heads' probabilities
 * averaged) are judged by. The loss is the cross-entropy of the averaged probabilities.
 */

/** Every head's softmax probabilities over one pass of a split (rows × classes each, row-major), and the split's labels. */
export interface ProbabilityPass {
  probabilities: Float32Array[];
  labels: Int32Array;
  /** Each row's image id, where every batch carried them (a trainer's stream does); else null. */
  imageIds: Float64Array | null;
  rows: number;
}

export interface ProbabilityScore {
  loss: number;
  accuracy: number;
  rows: number;
  /** Each row's most probable class (the first on ties). */
  predicted: Int32Array;
}

/** The smallest probability a loss term takes: a confident miss costs −log(1e-12) ≈ 27.6, not infinity. */
const MIN_PROBABILITY = 1e-12;

/** Every head's probabilities over `source`, each batch prepared once per input view. */
export async function probabilitiesPass(
  heads: readonly TrainableHead[],
  source: AsyncIterable<FeatureBatch>,
  options: { views?: CandidateViews; beforeBatch?: () => void } = {},
): Promise<ProbabilityPass> {
  const { views } = options;
  if (views && views.viewOf.length !== heads.length) throw new RangeError(`views name a view for ${views.viewOf.length} heads, there are ${heads.length}`);
  const transforms = views?.transforms ?? [(batch: FeatureBatch) => batch];
  const dim = heads[0]?.spec.inputDim ?? 0;
  const parts: Float32Array[][] = heads.map(() => []);
  const labels: Int32Array[] = [];
  let imageIds: Float64Array[] | null = [];
  let rows = 0;
  for await (const read of source) {
    options.beforeBatch?.();
    if (read.rows === 0) continue;
    for (let v = 0; v < transforms.length; v++) {
      const of = heads.flatMap((_, i) => ((views?.viewOf[i] ?? 0) === v ? [i] : []));
      if (of.length === 0) continue;
      const batch = transforms[v](read);
      const features = batch.features.subarray(0, batch.rows * dim);
      for (const i of of) parts[i].push(heads[i].predictProba(features));
    }
    labels.push(read.labels.slice(0, read.rows));
    const ids = (read as FeatureBatch & { imageIds?: ArrayLike<number> }).imageIds;
    if (ids && imageIds) imageIds.push(Float64Array.from({ length: read.rows }, (_, r) => ids[r]));
    else imageIds = null;
    rows += read.rows;
  }
  return { probabilities: parts.map((p) => concat(p, Float32Array)), labels: concat(labels, Int32Array), imageIds: imageIds && concat(imageIds, Float64Array), rows };
}

/**
 * Each image's probabilities averaged with its mirror's: row i of `images` with row mirrorOf[i] of
 * `mirrors` (null: the same row). Every image needs its mirror.
 */
export function averageWithMirrors(images: Float32Array, mirrors: Float32Array, classes: number, mirrorOf: Int32Array | null): Float32Array {
  const rows = images.length / classes;
  if (mirrors.length !== images.length) throw new RangeError(`${rows} images but ${mirrors.length / classes} mirrors: test-time augmentation needs one mirror per image`);
  if (mirrorOf && mirrorOf.length !== rows) throw new RangeError(`mirrorOf pairs ${mirrorOf.length} images, there are ${rows}`);
  const averaged = new Float32Array(images.length);
  for (let r = 0; r < rows; r++) {
    const m = mirrorOf ? mirrorOf[r] : r;
    if (m < 0 || m >= rows) throw new RangeError(`mirrorOf[${r}] = ${m} is not a mirror row (0-${rows - 1})`);
    for (let c = 0; c < classes; c++) averaged[r * classes + c] = (images[r * classes + c] + mirrors[m * classes + c]) / 2;
  }
  return averaged;
}

/** For each image row, the row of its mirror (same image id); every image needs exactly one. */
export function mirrorRowsOf(images: Float64Array, mirrors: Float64Array): Int32Array {
  if (images.length !== mirrors.length) throw new RangeError(`${images.length} images but ${mirrors.length} mirrors: test-time augmentation needs one mirror per image`);
  const rowOf = new Map<number, number>();
  mirrors.forEach((id, row) => rowOf.set(id, row));
  return Int32Array.from(images, (id) => {
    const row = rowOf.get(id);
    if (row === undefined) throw new RangeError(`image ${id} has no mirror among the augmented rows`);
    return row;
  });
}

/** The mean of several probability arrays of one shape (an ensemble's members). */
export function meanProbabilities(members: readonly Float32Array[]): Float32Array {
  if (members.length === 0) throw new RangeError('an average needs at least one member');
  const mean = new Float32Array(members[0].length);
  for (const member of members) {
    if (member.length !== mean.length) throw new RangeError(`members differ in size (${member.length} and ${mean.length} values)`);
    for (let i = 0; i < mean.length; i++) mean[i] += member[i];
  }
  for (let i = 0; i < mean.length; i++) mean[i] /= members.length;
  return mean;
}

/** Accuracy (argmax, first class on ties) and mean cross-entropy of probabilities against labels. */
export function scoreProbabilities(probabilities: Float32Array, labels: Int32Array, classes: number): ProbabilityScore {
  const rows = labels.length;
  if (probabilities.length !== rows * classes) throw new RangeError(`${probabilities.length} probabilities for ${rows} rows of ${classes} classes`);
  let correct = 0;
  let lossSum = 0;
  const predicted = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[r * classes + c] > probabilities[r * classes + best]) best = c;
    predicted[r] = best;
    if (best === labels[r]) correct++;
    lossSum -= Math.log(Math.max(probabilities[r * classes + labels[r]], MIN_PROBABILITY));
  }
  return { loss: lossSum / Math.max(rows, 1), accuracy: correct / Math.max(rows, 1), rows, predicted };
}

function concat<T extends Float32Array | Int32Array | Float64Array>(parts: T[], Array: new (length: number) => T): T {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
