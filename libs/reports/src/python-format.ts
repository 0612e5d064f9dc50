/**
 * Python's `format(x, '.{digits}f')`. Python rounds the exact binary value half to even; JS
 * `toFixed` rounds exact ties up (0.125 → '0.13' where Python prints '0.12'), and ties are
 * common here (1/8, 3/8 …), so the rounding is done exactly on the double's integer form.
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0) throw new RangeError(`digits must be a non-negative integer, got ${digits}`);
  if (Number.isNaN(x)) return 'nan';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const magnitude = Math.abs(x);
  if (magnitude === Infinity) return `${sign}inf`;

  const scaled = roundHalfEvenScaled(magnitude, digits).toString().padStart(digits + 1, '0');
  const integerPart = scaled.slice(0, scaled.length - digits);
  return digits === 0 ? sign + integerPart : `${sign}${integerPart}.${scaled.slice(scaled.length - digits)}`;
}

/** round(x · 10^digits), ties to even, computed exactly from x = mantissa · 2^exponent. */
function roundHalfEvenScaled(x: number, digits: number): bigint {
  const { mantissa, exponent } = decompose(x);
  const numerator = mantissa * 10n ** BigInt(digits);
  if (exponent >= 0) return numerator << BigInt(exponent);
  const denominator = 1n << BigInt(-exponent);
  const quotient = numerator / denominator;
  const twiceRemainder = (numerator % denominator) * 2n;
  if (twiceRemainder < denominator) return quotient;
  if (twiceRemainder > denominator) return quotient + 1n;
  return quotient % 2n === 0n ? quotient : quotient + 1n;
}

/** A finite non-negative double as an exact integer mantissa and power-of-two exponent. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biasedExponent === 0
    ? { mantissa: fraction, exponent: -1074 } // subnormal
    : { mantissa: fraction | (1n << 52n), exponent: biasedExponent - 1075 };
}

/** Python's `format(text, '>{width}')`: width counts code points, not UTF-16 units. */
export function padStartPython(text: string, width: number): string {
  const length = [...text].length;
  return length >= width ? text : ' '.repeat(width - length) + text;
}
