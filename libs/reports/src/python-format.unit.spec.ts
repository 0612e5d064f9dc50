import { numpyMean, numpySum, numpyWeightedAverage } from './numpy-sum';
import { formatFixed, padStartPython } from './python-format';

describe('formatFixed (Python format(x, ".Nf"))', () => {
  it('rounds exact binary ties half to even, where toFixed rounds them up', () => {
    expect(formatFixed(0.125, 2)).toBe('0.12'); // (0.125).toFixed(2) === '0.13'
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(0.625, 2)).toBe('0.62');
    expect(formatFixed(0.75, 1)).toBe('0.8');
    expect(formatFixed(0.25, 1)).toBe('0.2');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(3.5, 0)).toBe('4');
  });

  it('rounds non-ties by the exact binary value (0.725 is stored a hair below)', () => {
    expect(formatFixed(0.725, 2)).toBe('0.72');
    expect(formatFixed(29 / 40, 2)).toBe('0.72');
    expect(formatFixed(2 / 3, 2)).toBe('0.67');
    expect(formatFixed(1 / 3, 4)).toBe('0.3333');
    expect(formatFixed(0.1 + 0.2, 17)).toBe('0.30000000000000004');
  });

  it('prints integers, zero digits, signs and non-finite values as Python does', () => {
    expect(formatFixed(1, 2)).toBe('1.00');
    expect(formatFixed(0, 0)).toBe('0');
    expect(formatFixed(372, 3)).toBe('372.000');
    expect(formatFixed(-0.125, 2)).toBe('-0.12');
    expect(formatFixed(-0, 1)).toBe('-0.0');
    expect(formatFixed(Number.NaN, 2)).toBe('nan');
    expect(formatFixed(-Infinity, 2)).toBe('-inf');
    expect(formatFixed(5e-324, 3)).toBe('0.000');
    expect(() => formatFixed(1, -1)).toThrow(RangeError);
  });

  it('pads by code points, as Python counts width', () => {
    expect(padStartPython('ab', 4)).toBe('  ab');
    expect(padStartPython('😀', 3)).toBe('  😀');
    expect(padStartPython('toolong', 3)).toBe('toolong');
  });
});

describe('NumPy-ordered sums', () => {
  it('sum pairwise in blocks of eight, as np.sum does', () => {
    // Left to right this is (1 + 1e16) + … = 1e16 + 8 spread over many roundings; NumPy's
    // eight accumulators keep the small terms together. The expected values are np.sum's.
    const values = [1e16, 1, 1, 1, 1, 1, 1, 1, -1e16, 1, 1, 1, 1, 1, 1, 1];
    expect(values.reduce((a, b) => a + b, 0)).toBe(7);
    expect(numpySum(values)).toBe(14);
    expect(numpySum([0.1, 0.2, 0.3])).toBe(0.1 + 0.2 + 0.3);
    expect(numpySum([])).toBe(0);
  });

  it('mean and weighted average follow np.mean and np.average', () => {
    expect(numpyMean([0.5, 2 / 3, 0, 0])).toBe((0.5 + 2 / 3) / 4);
    expect(numpyMean([])).toBe(0);
    expect(numpyWeightedAverage([0.5, 1], [3, 1])).toBe(0.625);
    expect(() => numpyWeightedAverage([1], [1, 2])).toThrow(RangeError);
  });
});
