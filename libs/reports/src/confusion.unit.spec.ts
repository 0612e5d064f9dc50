import { confusionMatrix } from './confusion';

describe('confusionMatrix', () => {
  it('counts (true, predicted) pairs with rows = true class and columns = predicted', () => {
    const truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
    const predicted = [0, 1, 0, 1, 1, 2, 0, 2, 1];
    expect(confusionMatrix(truth, predicted, 3)).toEqual([
      [2, 1, 0],
      [0, 2, 0],
      [1, 1, 2],
    ]);
  });

  it('takes typed arrays and keeps rows and columns for classes that never occur', () => {
    expect(confusionMatrix(new Int32Array([1, 1]), new Uint8Array([1, 0]), 4)).toEqual([
      [0, 0, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    expect(confusionMatrix([], [], 2)).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('refuses mismatched lengths, labels outside 0..classes-1 and a bad class count', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/truth has 2 labels but predicted has 1/);
    expect(() => confusionMatrix([0, 2], [0, 1], 2)).toThrow(/truth\[1\] = 2 is not a class index in 0\.\.1/);
    expect(() => confusionMatrix([0, 1], [0, -1], 2)).toThrow(/predicted\[1\] = -1/);
    expect(() => confusionMatrix([0.5], [0], 2)).toThrow(RangeError);
    expect(() => confusionMatrix([0], [0], 0)).toThrow(/positive integer/);
  });
});
