import { randomFloats } from './fixtures';

export interface Rows {
  features: Float32Array;
  labels: Int32Array;
  imageIds: BigInt64Array;
}

/** Rows for a shard: seeded float32 features, labels cycling through 3 classes, ids from `firstId`. */
export function makeRows(count: number, dim: number, seed: number, firstId = 0): Rows {
  return {
    features: randomFloats(count * dim, seed),
    labels: Int32Array.from({ length: count }, (_, i) => (firstId + i) % 3),
    imageIds: BigInt64Array.from({ length: count }, (_, i) => BigInt(firstId + i) * 1_000_003n + 2n ** 40n),
  };
}

/** Rows one after another, as a shard holds them. */
export function concatRows(parts: readonly Rows[]): Rows {
  const join = <T extends Float32Array | Int32Array | BigInt64Array>(arrays: T[], make: (length: number) => T): T => {
    const out = make(arrays.reduce((total, array) => total + array.length, 0));
    let at = 0;
    for (const array of arrays) {
      (out as unknown as { set(a: T, at: number): void }).set(array, at);
      at += array.length;
    }
    return out;
  };
  return {
    features: join(parts.map((p) => p.features), (n) => new Float32Array(n)),
    labels: join(parts.map((p) => p.labels), (n) => new Int32Array(n)),
    imageIds: join(parts.map((p) => p.imageIds), (n) => new BigInt64Array(n)),
  };
}
