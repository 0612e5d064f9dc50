import { defaultHiddenSizes, nearestPowerOfTwo } from './hidden-sizes';

describe('defaultHiddenSizes (the tutorial\'s "square root, closest power of two" rule)', () => {
  it("reproduces the tutorial's 100,352 → 256 → 16", () => {
    expect(defaultHiddenSizes(100352)).toEqual([256, 16]);
    expect(defaultHiddenSizes(100352, 2)).toEqual([256, 16]);
  });

  it('gives one 32-unit layer for pooled features (the next step, 4, would be a bottleneck)', () => {
    expect(defaultHiddenSizes(1280)).toEqual([32]);
    expect(defaultHiddenSizes(1280, 10)).toEqual([32]);
    expect(defaultHiddenSizes(2048)).toEqual([32]);
  });

  it('never adds a layer narrower than the number of classes, but always has one layer', () => {
    expect(defaultHiddenSizes(100352, 20)).toEqual([256]);
    expect(defaultHiddenSizes(10)).toEqual([4]);
    expect(defaultHiddenSizes(1)).toEqual([1]);
  });

  it('rounds to the nearest power of two', () => {
    expect(nearestPowerOfTwo(Math.sqrt(100352))).toBe(256);
    expect(nearestPowerOfTwo(16)).toBe(16);
    expect(nearestPowerOfTwo(5.9)).toBe(4);
    expect(nearestPowerOfTwo(6.1)).toBe(8);
    expect(() => nearestPowerOfTwo(0)).toThrow(RangeError);
  });
});
