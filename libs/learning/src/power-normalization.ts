import { Standardization, standardizeInPlace } from './stats';

/**
 * Power normalization of CNN features (Perronnin et al., "Improving the Fisher kernel", 2010; a
 * known gain for pooled and flattened activations): each value becomes sign(x)·√|x|, then the row
 * is L2-normalized. The row is then scaled by √dim so that its values have a root mean square of
 * 1, the scale standardized inputs have: the optimizers' default learning rates suit both (a
 * unit-norm row of 62,720 values would leave SGD at lr 1e-3 barely moving). The scale changes no
 * angle, so cosine similarities are those of the plain normalization.
 */
export function powerNormalizeInPlace(features: Float32Array, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (features.length % dim !== 0) throw new RangeError(`${features.length} values are not whole rows of ${dim}`);
  const target = Math.sqrt(dim);
  for (let base = 0; base < features.length; base += dim) {
    let squares = 0;
    for (let d = base; d < base + dim; d++) {
      const x = features[d];
      const root = x < 0 ? -Math.sqrt(-x) : Math.sqrt(x);
      features[d] = root;
      squares += root * root;
    }
    // A row of zeros stays zeros (nothing to normalize).
    const scale = squares > 0 ? target / Math.sqrt(squares) : 0;
    for (let d = base; d < base + dim; d++) features[d] *= scale;
  }
  return features;
}

/**
 * Features prepared as a run trained on them, in place: power-normalized where it asks for it,
 * then standardized with its statistics where it has them. The trainer's streams and prediction
 * both call this, so a model sees at prediction what it saw in training.
 */
export function prepareInputsInPlace(features: Float32Array, dim: number, normalize: 'none' | 'power', standardization: Standardization | null): Float32Array {
  if (normalize === 'power') powerNormalizeInPlace(features, dim);
  if (standardization) standardizeInPlace(features, standardization);
  return features;
}
