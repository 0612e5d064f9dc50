import path from 'node:path';
import { fromFloat16, toFloat16 } from './float16';
import { readNpy, writeNpy } from './npy';
import { makeTempDir, randomFloats, removeDir, seededRandom } from './testing/fixtures';
import { itWithNumpy, runPython } from './testing/numpy';

const allHalves = (): Uint16Array => Uint16Array.from({ length: 0x10000 }, (_, i) => i);
/** Index of the first element where the arrays differ, or -1 (jest's toEqual is slow on 65536 elements). */
const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
};
const isHalfNaN = (half: number): boolean => (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;

describe('float16', () => {
  it('converts known values, infinities, zeros and subnormals', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff], // just under the midpoint to infinity
      [65520, 0x7c00], // the midpoint rounds to even, which is infinity
      [1e9, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [0, 0x0000],
      [-0, 0x8000],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even, 0
      [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 ulps: to even, 2
      [2.5 * 2 ** -24, 0x0002], // tie between 2 and 3 ulps: to even, 2
      [-3 * 2 ** -24, 0x8003],
      [1e-10, 0x0000],
    ];
    const halves = toFloat16(Float32Array.from(cases.map(([value]) => value)));
    expect(Array.from(halves)).toEqual(cases.map(([, half]) => half));
    const back = fromFloat16(Uint16Array.from(cases.map(([, half]) => half)));
    expect(back[0]).toBe(1);
    expect(back[10]).toBe(-0);
    expect(back[12]).toBe(2 ** -24);
    expect(back[13]).toBe(1023 * 2 ** -24);
    expect(back[7]).toBe(Infinity);
    expect(back[8]).toBe(-Infinity);
  });

  it('turns NaN into a half NaN and back, keeping the sign', () => {
    const halves = toFloat16(Float32Array.of(NaN, -NaN));
    expect(isHalfNaN(halves[0]!)).toBe(true);
    expect(Number.isNaN(fromFloat16(Uint16Array.of(0x7e00, 0xfe01, 0x7c01))[0])).toBe(true);
    expect(Array.from(fromFloat16(Uint16Array.of(0x7e00, 0xfe01, 0x7c01))).every(Number.isNaN)).toBe(true);
  });

  it('round-trips every one of the 65536 halves exactly (NaN payloads included)', () => {
    const halves = allHalves();
    expect(firstDifference(toFloat16(fromFloat16(halves)), halves)).toBe(-1);
  });

  it('rounds every midpoint between adjacent finite halves to the even one, and off-midpoints to the nearer', () => {
    const count = 0x7bff; // pairs (h, h + 1) for h in [0, 0x7bfe]
    const low = fromFloat16(Uint16Array.from({ length: count }, (_, h) => h));
    const high = fromFloat16(Uint16Array.from({ length: count }, (_, h) => h + 1));
    const midpoints = low.map((value, h) => (value + high[h]!) / 2); // exact: halves have 11 bits
    const expected = Uint16Array.from({ length: count }, (_, h) => (h % 2 === 0 ? h : h + 1));
    expect(firstDifference(toFloat16(midpoints), expected)).toBe(-1);

    const bits = new Uint32Array(midpoints.buffer);
    const above = new Float32Array(new Uint32Array(bits.map((b) => b + 1)).buffer);
    const below = new Float32Array(new Uint32Array(bits.map((b) => b - 1)).buffer);
    expect(firstDifference(toFloat16(above), Uint16Array.from({ length: count }, (_, h) => h + 1))).toBe(-1);
    expect(firstDifference(toFloat16(below.subarray(1)), Uint16Array.from({ length: count - 1 }, (_, h) => h + 1))).toBe(-1);
  });

  it('keeps the relative error within 2^-11 over the normal range', () => {
    const random = seededRandom(7);
    const values = Float32Array.from({ length: 100_000 }, () => {
      const magnitude = 2 ** (-14 + random() * 29.99); // [2^-14, 65504)
      return random() < 0.5 ? -magnitude : magnitude;
    });
    const back = fromFloat16(toFloat16(values));
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i]! - values[i]!) / Math.abs(values[i]!));
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeLessThanOrEqual(1e-3);
  });

  it('writes into a given output array and checks its length', () => {
    const input = randomFloats(10, 1);
    const out = new Uint16Array(10);
    expect(toFloat16(input, out)).toBe(out);
    const wide = new Float32Array(10);
    expect(fromFloat16(out, wide)).toBe(wide);
    expect(() => toFloat16(input, new Uint16Array(9))).toThrow(RangeError);
    expect(() => fromFloat16(out, new Float32Array(11))).toThrow(RangeError);
  });

  it('works on views that do not start at the beginning of their buffer', () => {
    const buffer = Float32Array.of(9, 1, 2, 3);
    expect(Array.from(toFloat16(buffer.subarray(1)))).toEqual([0x3c00, 0x4000, 0x4200]);
    const halves = Uint16Array.of(0, 0x3c00, 0x4000);
    expect(Array.from(fromFloat16(halves.subarray(1)))).toEqual([1, 2]);
  });

  itWithNumpy('matches numpy astype(float16) bit for bit on random float32 bit patterns', async () => {
    const dir = await makeTempDir();
    try {
      const random = seededRandom(42);
      const bits = new Uint32Array(200_000);
      for (let i = 0; i < bits.length; i++) {
        // Mostly exponents near the half range (subnormal, normal, overflow), some anywhere.
        const exponent = i % 4 === 0 ? Math.floor(random() * 256) : 95 + Math.floor(random() * 55);
        const sign = random() < 0.5 ? 0x80000000 : 0;
        bits[i] = (sign | (exponent << 23) | Math.floor(random() * 0x800000)) >>> 0;
      }
      const input = path.join(dir, 'f32.npy');
      const output = path.join(dir, 'f16.npy');
      await writeNpy(input, '<f4', [bits.length], new Float32Array(bits.buffer));
      runPython(
        `import sys, json, numpy as np
with np.errstate(all='ignore'):
    np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float16))
print(json.dumps(True))`,
        [input, output],
      );
      const expected = await readNpy(output);
      expect(expected.dtype).toBe('<f2');
      const ours = toFloat16(new Float32Array(bits.buffer));
      const mismatches = [];
      for (let i = 0; i < ours.length && mismatches.length < 5; i++) {
        if (ours[i] !== expected.data[i]) mismatches.push({ float32: bits[i]!.toString(16), ours: ours[i], numpy: expected.data[i] });
      }
      expect(mismatches).toEqual([]);
    } finally {
      await removeDir(dir);
    }
  });
});
