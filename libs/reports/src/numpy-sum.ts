/**
 * Float sums in NumPy's order. `np.sum`/`np.mean`/`np.average` on float64 use pairwise summation
 * with eight accumulators, which can differ from a left-to-right sum in the last bit; matching it
 * keeps averages that land on a rounding tie (…5 at the printed digit) printing as sklearn does.
 */
export function numpySum(values: readonly number[]): number {
  return pairwiseSum(values, 0, values.length);
}

/** `np.mean(values)`; 0 for no values (where NumPy would warn and give NaN). */
export function numpyMean(values: readonly number[]): number {
  return values.length === 0 ? 0 : numpySum(values) / values.length;
}

/** `np.average(values, weights=weights)`: Σ(v·w) / Σw, both summed pairwise. */
export function numpyWeightedAverage(values: readonly number[], weights: readonly number[]): number {
  if (values.length !== weights.length) {
    throw new RangeError(`${values.length} values but ${weights.length} weights`);
  }
  const total = numpySum(weights);
  return numpySum(values.map((v, i) => v * weights[i])) / total;
}

/** NumPy's PW_BLOCKSIZE: up to this many values are summed in one unrolled pass. */
const BLOCK = 128;

/** Port of NumPy's `pairwise_sum_DOUBLE` (numpy/core/src/umath/loops_utils.h.src). */
function pairwiseSum(a: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += a[start + i];
    return sum;
  }
  if (n <= BLOCK) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) sum += a[start + i];
    return sum;
  }
  // Halve, keeping the first half a multiple of the unroll factor.
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, start, half) + pairwiseSum(a, start + half, n - half);
}
