/**
 * The NumPy dtypes this library reads and writes, by their `.npy` `descr` (always little
 * endian), with the typed array that holds their values in memory. Half floats have no typed
 * array in Node 20, so they are held as raw bit patterns in a `Uint16Array`.
 */
export type NpyDtype = '<f2' | '<f4' | '<i4' | '<i8';

/** Values of an array of each dtype, in C order. */
export interface NpyDataOf {
  '<f2': Uint16Array;
  '<f4': Float32Array;
  '<i4': Int32Array;
  '<i8': BigInt64Array;
}

export type NpyData = NpyDataOf[NpyDtype];

interface DtypeInfo {
  readonly itemSize: number;
  readonly create: (length: number) => NpyData;
  readonly holds: (data: unknown) => boolean;
  readonly arrayName: string;
}

const DTYPES: Readonly<Record<NpyDtype, DtypeInfo>> = {
  '<f2': { itemSize: 2, create: (n) => new Uint16Array(n), holds: (d) => d instanceof Uint16Array, arrayName: 'Uint16Array' },
  '<f4': { itemSize: 4, create: (n) => new Float32Array(n), holds: (d) => d instanceof Float32Array, arrayName: 'Float32Array' },
  '<i4': { itemSize: 4, create: (n) => new Int32Array(n), holds: (d) => d instanceof Int32Array, arrayName: 'Int32Array' },
  '<i8': { itemSize: 8, create: (n) => new BigInt64Array(n), holds: (d) => d instanceof BigInt64Array, arrayName: 'BigInt64Array' },
};

export const NPY_DTYPES: readonly NpyDtype[] = Object.keys(DTYPES) as NpyDtype[];

export function isNpyDtype(value: unknown): value is NpyDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}

/** Bytes per value. */
export function npyItemSize(dtype: NpyDtype): number {
  return DTYPES[dtype].itemSize;
}

/** A zeroed typed array for `length` values of `dtype`. */
export function createNpyData<D extends NpyDtype>(dtype: D, length: number): NpyDataOf[D] {
  return DTYPES[dtype].create(length) as NpyDataOf[D];
}

/** Whether `data` is the typed array that holds `dtype` values. */
export function holdsNpyDtype<D extends NpyDtype>(dtype: D, data: unknown): data is NpyDataOf[D] {
  return DTYPES[dtype].holds(data);
}

/** Name of the typed array for `dtype`, for error messages. */
export function npyArrayName(dtype: NpyDtype): string {
  return DTYPES[dtype].arrayName;
}

/** Number of values in an array of `shape`, checked to be a safe integer. */
export function npyElementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`shape [${shape.join(', ')}] has a bad size ${size}`);
    count *= size;
  }
  if (!Number.isSafeInteger(count)) throw new RangeError(`shape [${shape.join(', ')}] holds too many values`);
  return count;
}

/**
 * Typed arrays use the machine's byte order and `.npy` files here are little endian, so the
 * bytes are written and read as they are; a big-endian machine would need swapping, not done.
 */
export function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('@featx/features needs a little-endian machine');
  }
}
