/** A `limit` query parameter: a whole number from 1 to `max`; absent or not a number is `fallback`. */
export function queryLimit(value: string | undefined, fallback: number, max = 1000): number {
  return Math.min(Math.max(Number(value) || fallback, 1), max);
}
