import { formatFloat32 } from './format-float32';
import { seededRandom } from './testing/fixtures';

describe('formatFloat32', () => {
  it.each([
    [Math.fround(0.1), '0.1'],
    [1, '1'],
    [-2.5, '-2.5'],
    [Math.fround(1 / 3), '0.33333334'],
    [Math.fround(1e-7), '1e-7'],
    [Math.fround(123456.789), '123456.79'],
    [65504, '65504'],
    [Math.fround(3.4e38), '3.4e+38'],
    [2 ** -149, '1e-45'],
    [0, '0'],
    [-0, '-0'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ])('formats %p as %p', (value, text) => {
    expect(formatFloat32(value)).toBe(text);
  });

  it('reads back as the same float32, in at most 9 significant digits, for random bit patterns', () => {
    const random = seededRandom(3);
    const bits = Uint32Array.from({ length: 20_000 }, () => Math.floor(random() * 0x7f800000));
    const values = new Float32Array(bits.buffer);
    for (const value of values) {
      const text = formatFloat32(value);
      expect(Math.fround(Number(text))).toBe(value);
      const significant = text.replace(/^-|e.*$|\./g, '').replace(/^0+|0+$/g, '');
      expect(significant.length).toBeLessThanOrEqual(9);
    }
    // The same text as trying every digit count from 1 up (the plain, slow way to the shortest).
    const shortest = (value: number): string => {
      for (let digits = 1; ; digits++) {
        const candidate = Number(value.toPrecision(digits));
        if (Math.fround(candidate) === value) return String(candidate);
      }
    };
    const differing = Array.from(values).filter((value) => formatFloat32(value) !== shortest(value));
    expect(differing).toEqual([]);
  });
});
