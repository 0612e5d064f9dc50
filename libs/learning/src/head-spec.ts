import { defaultHiddenSizes } from './hidden-sizes';

export type HeadKind = 'mlp' | 'logistic';

/** What to build: the trainer passes its run configuration's head fields here. */
export interface HeadSpec {
  kind: HeadKind;
  inputDim: number;
  classes: number;
  /** MLP hidden layer sizes; default defaultHiddenSizes(inputDim, classes). Ignored by 'logistic'. */
  hidden?: number[];
  /** Dropout rate after each hidden layer (MLP, training only); default 0. */
  dropout?: number;
  /** L2 strength on every kernel (Keras `l2(λ)`: λ·Σw² is added to the loss); default 0. */
  l2?: number;
}

/** A spec with every default filled in: what a checkpoint records and what the head runs. */
export interface ResolvedHeadSpec {
  kind: HeadKind;
  inputDim: number;
  classes: number;
  /** Empty for 'logistic' (a single softmax layer). */
  hidden: number[];
  dropout: number;
  l2: number;
}

export function resolveHeadSpec(spec: HeadSpec): ResolvedHeadSpec {
  const { kind, inputDim, classes } = spec;
  if (kind !== 'mlp' && kind !== 'logistic') throw new RangeError(`unknown head kind '${String(kind)}'`);
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new RangeError(`inputDim must be a positive integer, got ${inputDim}`);
  // Two classes is a softmax over two outputs (labels are class indices), as the tutorial's model.
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer ≥ 2, got ${classes}`);
  const hidden = kind === 'logistic' ? [] : (spec.hidden ?? defaultHiddenSizes(inputDim, classes));
  for (const units of hidden) {
    if (!Number.isInteger(units) || units < 1) throw new RangeError(`hidden sizes must be positive integers, got [${hidden.join(', ')}]`);
  }
  const dropout = spec.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
  const l2 = spec.l2 ?? 0;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError(`l2 must be a finite number ≥ 0, got ${l2}`);
  return { kind, inputDim, classes, hidden: [...hidden], dropout, l2 };
}

/** Units of every dense layer in order: hidden layers, then the softmax layer. */
export function layerUnits(spec: ResolvedHeadSpec): number[] {
  return [...spec.hidden, spec.classes];
}
