/** Significant digits that always tell float32 values apart. */
const FLOAT32_ROUND_TRIP_DIGITS = 9;
/** Where the search for the fewest digits starts: most features need 6 to 9. */
const FIRST_GUESS_DIGITS = 6;

/**
 * The shortest decimal that reads back as the same float32 (`0.1` for 0.1f, where JavaScript's
 * own `String` would print the float64 `0.10000000149011612`); infinities and NaN as Python's
 * `float()` reads them. `value` should be a float32 value (one read from a Float32Array).
 *
 * The search starts at 6 digits and goes down while the value still reads back, or up until it
 * does, which takes 2 or 3 tries for typical features instead of up to 9. Reading back the same
 * float32 is guaranteed; being the very shortest holds except in rare cases next to powers of
 * two, where a digit more than needed may be printed.
 */
export function formatFloat32(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  const target = Math.fround(value);
  let digits = FIRST_GUESS_DIGITS;
  let found = withDigits(target, digits);
  if (found !== undefined) {
    while (digits > 1) {
      const fewer = withDigits(target, digits - 1);
      if (fewer === undefined) break;
      found = fewer;
      digits--;
    }
    return found;
  }
  while (found === undefined && digits < FLOAT32_ROUND_TRIP_DIGITS) found = withDigits(target, ++digits);
  return found ?? String(Number(target.toPrecision(FLOAT32_ROUND_TRIP_DIGITS)));
}

/** `target` in `digits` significant digits, if that reads back as `target`. */
function withDigits(target: number, digits: number): string | undefined {
  const candidate = Number(target.toPrecision(digits));
  // String() of the parsed double drops `toPrecision`'s exponent form for ordinary magnitudes.
  return Math.fround(candidate) === target ? String(candidate) : undefined;
}
