import { fromFloat16 } from './float16';

/** float32 bits of a half, decoded one value at a time by its definition (no table). */
function halfBits(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const value =
    exponent === 0x1f ? (mantissa ? NaN : sign * Infinity) : exponent === 0 ? sign * mantissa * 2 ** -24 : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  return new Uint32Array(Float32Array.of(value).buffer)[0]!;
}

/**
 * fromFloat16 reads halves two at a time through 32-bit words; the pieces around the words (an
 * input starting mid-word, an odd count) must decode the same as the rest.
 */
describe('fromFloat16 (paired decode)', () => {
  const halves = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
  const isNaNHalf = (half: number) => (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;

  it('decodes every half to its float32 value', () => {
    const out = new Uint32Array(fromFloat16(halves).buffer);
    for (let half = 0; half < 0x10000; half++) {
      if (isNaNHalf(half)) expect(Number.isNaN(new Float32Array(out.buffer, half * 4, 1)[0])).toBe(true);
      else if (out[half] !== halfBits(half)) throw new Error(`half 0x${half.toString(16)} decoded to 0x${out[half]!.toString(16)}, expected 0x${halfBits(half).toString(16)}`);
    }
  });

  it.each([
    [0, 0],
    [0, 1],
    [1, 1],
    [1, 2],
    [1, 7],
    [2, 7],
    [3, 8],
    [5, 1000],
  ])('decodes a view from half %i of %i values, into any part of a float32 array', (offset, length) => {
    const input = halves.subarray(0x3c00 + offset, 0x3c00 + offset + length);
    const out = new Float32Array(length + 3).fill(-7);
    fromFloat16(input, out.subarray(2, 2 + length));
    expect(Array.from(out.subarray(0, 2))).toEqual([-7, -7]);
    expect(out[2 + length]).toBe(-7);
    const bits = new Uint32Array(out.buffer, 8, length);
    expect(Array.from(bits)).toEqual(Array.from(input, halfBits));
  });
});
