/**
 * IEEE 754 half precision (binary16) ↔ single precision conversion on whole arrays, the way
 * NumPy's `astype` does it: round to nearest, ties to even; subnormals kept; values from 65520
 * up become infinity; NaN keeps its sign and top payload bits. The loops work on the bit
 * patterns through `Uint32Array` views, so nothing is allocated per element.
 */

/** 65536.0f: every float32 at or above this magnitude (after rounding) is a half infinity. */
const HALF_OVERFLOW_BITS = 0x47800000;
const FLOAT_INFINITY_BITS = 0x7f800000;
/** 2^-14, the smallest normal half, as float32 bits: below it the half is subnormal or zero. */
const HALF_MIN_NORMAL_BITS = 0x38800000;
/**
 * 0.5f. Adding it to a magnitude below 2^-14 leaves the result in [0.5, 1), where float32's
 * spacing is 2^-24, the spacing of half subnormals: the float32 store rounds to nearest-even on
 * exactly the half's grid, and the low mantissa bits are then the half's bits. (JavaScript adds
 * in float64 first; 53 ≥ 2·24 + 2 bits makes that double rounding harmless.)
 */
const SUBNORMAL_MAGIC = 0.5;
const SUBNORMAL_MAGIC_BITS = 0x3f000000;
/** Rebias the exponent from 127 to 15 and add the round-half-down part of the rounding bias. */
const REBIAS_AND_ROUND = -(112 << 23) + 0x0fff;

// One float32 slot, seen both as a float and as its bits, for the subnormal rounding.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** Converts float32 values to half precision bit patterns (round to nearest, ties to even). */
export function toFloat16(input: Float32Array, out: Uint16Array = new Uint16Array(input.length)): Uint16Array {
  checkSameLength(input.length, out.length);
  const inputBits = new Uint32Array(input.buffer, input.byteOffset, input.length);
  for (let i = 0; i < inputBits.length; i++) {
    const bits = inputBits[i]!;
    const sign = (bits >>> 16) & 0x8000;
    const magnitude = bits & 0x7fffffff;
    let half: number;
    if (magnitude >= HALF_OVERFLOW_BITS) {
      if (magnitude > FLOAT_INFINITY_BITS) {
        // NaN: keep the top 10 payload bits, and never let it turn into infinity.
        half = 0x7c00 | ((magnitude >>> 13) & 0x3ff);
        if (half === 0x7c00) half = 0x7c01;
      } else {
        half = 0x7c00;
      }
    } else if (magnitude < HALF_MIN_NORMAL_BITS) {
      scratchFloat[0] = Math.abs(input[i]!) + SUBNORMAL_MAGIC;
      half = scratchBits[0]! - SUBNORMAL_MAGIC_BITS;
    } else {
      // A carry out of the mantissa bumps the exponent, up to infinity: that is the right result.
      const mantissaOdd = (magnitude >>> 13) & 1;
      half = (magnitude + REBIAS_AND_ROUND + mantissaOdd) >>> 13;
    }
    out[i] = half | sign;
  }
  return out;
}

/**
 * Converts half precision bit patterns to float32 values (exact: every half is a float32), by a
 * 65536-entry table. Halves are loaded two at a time through a `Uint32Array` view where the input
 * is 4-byte aligned: 1.15-1.45x the speed of one load per half measured on a quiet core
 * (`npm run bench:read` measures both), and this decode is on the trainer's read path for every
 * float16 feature value.
 */
export function fromFloat16(input: Uint16Array, out: Float32Array = new Float32Array(input.length)): Float32Array {
  checkSameLength(input.length, out.length);
  if (fasterDecode) {
    fasterDecode(input, out);
    return out;
  }
  const table = halfToFloatBits();
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = input.length;
  // An input starting halfway into a 32-bit word: its first half alone, then the rest in pairs.
  let i = input.byteOffset % 4 === 0 ? 0 : Math.min(1, n);
  if (i === 1) outBits[0] = table[input[0]!]!;
  const pairs = (n - i) >>> 1;
  const words = new Uint32Array(input.buffer, input.byteOffset + i * 2, pairs);
  for (let w = 0; w < pairs; w++, i += 2) {
    const word = words[w]!;
    // Little-endian: the lower half of the word is the earlier value.
    outBits[i] = table[word & 0xffff]!;
    outBits[i + 1] = table[word >>> 16]!;
  }
  if (i < n) outBits[i] = table[input[i]!]!;
  return out;
}

function checkSameLength(inputLength: number, outLength: number): void {
  if (inputLength !== outLength) {
    throw new RangeError(`output holds ${outLength} values, the input ${inputLength}`);
  }
}

/** Decodes `input` into `out` (same length) exactly as fromFloat16's table does. */
export type Float16Decoder = (input: Uint16Array, out: Float32Array) => void;

let fasterDecode: Float16Decoder | undefined;

/**
 * Makes fromFloat16 use `decoder` (undefined: the table again): a hardware conversion where a
 * process has one (@featx/learning's registerNativeFloat16Decoder, F16C). This module stays the
 * format's owner and reference: a decoder must give the table's bits for every half (tested there).
 */
export function useFloat16Decoder(decoder: Float16Decoder | undefined): void {
  fasterDecode = decoder;
}

let halfTable: Uint32Array | undefined;

/** float32 bits of every one of the 65536 halves (256 KiB), built on first use. */
function halfToFloatBits(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(0x10000);
  for (let half = 0; half < 0x10000; half++) {
    const sign = (half & 0x8000) << 16;
    const exponent = (half >>> 10) & 0x1f;
    let mantissa = half & 0x3ff;
    let bits: number;
    if (exponent === 0x1f) {
      bits = sign | FLOAT_INFINITY_BITS | (mantissa << 13);
    } else if (exponent !== 0) {
      bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa === 0) {
      bits = sign;
    } else {
      // Subnormal half: normalise, since as a float32 it is a normal number.
      let floatExponent = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        floatExponent--;
      }
      bits = sign | (floatExponent << 23) | ((mantissa & 0x3ff) << 13);
    }
    table[half] = bits >>> 0;
  }
  halfTable = table;
  return table;
}
