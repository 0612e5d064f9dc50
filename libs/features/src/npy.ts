import { promises as fs, read as readCallback } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NpyFormatError } from './errors';
import { readAt, writeAt } from './file-io';
import { toFloat16 } from './float16';
import {
  assertLittleEndianHost,
  createNpyData,
  holdsNpyDtype,
  isNpyDtype,
  npyArrayName,
  npyElementCount,
  NPY_DTYPES,
  type NpyDataOf,
  type NpyDtype,
} from './npy-dtype';
import { parsePythonLiteral, PythonLiteralError, type PythonValue } from './python-literal';

/**
 * The NumPy `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the magic `\x93NUMPY`, a version, the header length, then the header, a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and ending in
 * a newline so the data starts on a 64-byte boundary, then the values in C order.
 */

export const NPY_MAGIC: Uint8Array = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/**
 * Length of the headers written here (magic to newline). Fixed rather than as short as possible,
 * so a header can be rewritten in place with a larger row count without moving the data; 128
 * holds any 3-D shape.
 */
export const NPY_HEADER_LENGTH = 128;

const NPY_ALIGNMENT = 64;
/** Bytes before the header text: magic, version, and (version 1.0) a 2-byte length. */
const V1_PREFIX_LENGTH = 10;
/** Headers longer than this are refused rather than read (NumPy refuses past 10,000 too). */
const MAX_HEADER_TEXT_LENGTH = 1 << 20;

export type NpyVersion = '1.0' | '2.0' | '3.0';

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  fortranOrder: boolean;
}

export interface NpyHeaderInfo extends NpyHeader {
  /** Bytes from the start of the file to the first value. */
  headerLength: number;
  version: NpyVersion;
}

/** An array as read from a file; `'<f2'` values are raw half bit patterns (see `fromFloat16`). */
export type NpyArray = {
  [D in NpyDtype]: { dtype: D; shape: number[]; fortranOrder: boolean; data: NpyDataOf[D] };
}[NpyDtype];

/**
 * Encodes a version 1.0 header of exactly `headerLength` bytes (a multiple of 64). Without a
 * length it is `NPY_HEADER_LENGTH`, or the next multiple of 64 for shapes of many dimensions.
 * Throws `NpyFormatError` when the header does not fit in the length asked for.
 */
export function encodeNpyHeader(header: NpyHeader, headerLength?: number): Buffer {
  if (!isNpyDtype(header.dtype)) throw new NpyFormatError(`dtype ${String(header.dtype)} is not supported`);
  npyElementCount(header.shape);
  const text =
    `{'descr': '${header.dtype}', 'fortran_order': ${header.fortranOrder ? 'True' : 'False'}, ` +
    `'shape': ${shapeRepr(header.shape)}, }`;
  const needed = V1_PREFIX_LENGTH + text.length + 1;
  const length = headerLength ?? Math.max(NPY_HEADER_LENGTH, roundUp(needed, NPY_ALIGNMENT));
  if (!Number.isSafeInteger(length) || length % NPY_ALIGNMENT !== 0 || length - V1_PREFIX_LENGTH > 0xffff) {
    throw new RangeError(`header length ${length} is not a multiple of ${NPY_ALIGNMENT} up to 65536`);
  }
  if (needed > length) {
    throw new NpyFormatError(`header for shape ${shapeRepr(header.shape)} needs ${needed} bytes, more than ${length}`);
  }
  const bytes = Buffer.alloc(length, 0x20);
  bytes.set(NPY_MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes.writeUInt16LE(length - V1_PREFIX_LENGTH, 8);
  bytes.write(text, V1_PREFIX_LENGTH, 'latin1');
  bytes[length - 1] = 0x0a;
  return bytes;
}

/**
 * Parses the header at the start of `bytes` (versions 1.0, 2.0 and 3.0). Throws `NpyFormatError`
 * when they are not a `.npy` file, are cut short, or describe an array this library does not
 * read (structured dtypes, other element types, big endian).
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeaderInfo {
  const layout = headerLayout(bytes);
  if (bytes.length < layout.headerLength) {
    throw new NpyFormatError(`header is cut short: it needs ${layout.headerLength} bytes, the file has ${bytes.length}`);
  }
  const textBytes = bytes.subarray(layout.textStart, layout.headerLength);
  const text = Buffer.from(textBytes.buffer, textBytes.byteOffset, textBytes.length).toString(
    layout.version === '3.0' ? 'utf8' : 'latin1',
  );
  return { ...parseHeaderText(text), headerLength: layout.headerLength, version: layout.version };
}

/** Reads and parses the header of an open file (a `FileHandle` or a descriptor), from offset 0. */
export async function readNpyFileHeader(file: FileHandle | number): Promise<NpyHeaderInfo> {
  const prefix = await readStart(file, 12);
  const { headerLength } = headerLayout(prefix);
  return readNpyHeader(headerLength <= prefix.length ? prefix : await readStart(file, headerLength));
}

/**
 * Writes a whole array as a `.npy` file, replacing any file there, and syncs it to disk.
 * `'<f2'` takes raw halves (`Uint16Array`) or float32 values, which are rounded to half.
 */
export async function writeNpy(
  filePath: string,
  dtype: NpyDtype,
  shape: readonly number[],
  data: NpyDataOf[NpyDtype] | Float32Array,
): Promise<void> {
  assertLittleEndianHost();
  const values = dtype === '<f2' && data instanceof Float32Array ? toFloat16(data) : data;
  if (!holdsNpyDtype(dtype, values)) {
    throw new TypeError(`${dtype} values must be a ${npyArrayName(dtype)}, got ${(values as object).constructor.name}`);
  }
  const count = npyElementCount(shape);
  if (values.length !== count) {
    throw new RangeError(`shape [${shape.join(', ')}] holds ${count} values, the data ${values.length}`);
  }
  const header = encodeNpyHeader({ dtype, shape: [...shape], fortranOrder: false });
  const handle = await fs.open(filePath, 'w');
  try {
    await writeAt(handle, header, 0);
    await writeAt(handle, values, header.length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Reads a whole `.npy` file into memory. */
export async function readNpy(filePath: string): Promise<NpyArray> {
  assertLittleEndianHost();
  const handle = await fs.open(filePath, 'r');
  try {
    const header = await withPath(filePath, () => readNpyFileHeader(handle));
    const data = createNpyData(header.dtype, npyElementCount(header.shape));
    const read = await readAt(handle, data, header.headerLength);
    if (read < data.byteLength) {
      throw new NpyFormatError(
        `${filePath}: data is cut short: shape ${shapeRepr(header.shape)} needs ${data.byteLength} bytes, ` +
          `the file holds ${read}`,
      );
    }
    return { dtype: header.dtype, shape: header.shape, fortranOrder: header.fortranOrder, data } as NpyArray;
  } finally {
    await handle.close();
  }
}

/** Prefixes the message of an `NpyFormatError` with the file it is about. */
export async function withPath<T>(filePath: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof NpyFormatError) throw new NpyFormatError(`${filePath}: ${error.message}`);
    throw error;
  }
}

/** The shape as Python writes the tuple: `()`, `(3,)`, `(3, 4)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

interface HeaderLayout {
  version: NpyVersion;
  textStart: number;
  headerLength: number;
}

/** Where the header text lies, from the first 8 to 12 bytes. */
function headerLayout(bytes: Uint8Array): HeaderLayout {
  const magicLength = NPY_MAGIC.length;
  const magic = bytes.subarray(0, magicLength);
  if (magic.length < magicLength || magic.some((byte, i) => byte !== NPY_MAGIC[i])) {
    throw new NpyFormatError('not a .npy file: it does not start with "\\x93NUMPY"');
  }
  if (bytes.length < 8) throw new NpyFormatError('header is cut short after the magic');
  const version = `${bytes[6]}.${bytes[7]}`;
  if (version !== '1.0' && version !== '2.0' && version !== '3.0') {
    throw new NpyFormatError(`.npy version ${version} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  const lengthBytes = version === '1.0' ? 2 : 4;
  const textStart = 8 + lengthBytes;
  if (bytes.length < textStart) throw new NpyFormatError('header is cut short in its length field');
  const view = new DataView(bytes.buffer, bytes.byteOffset, textStart);
  const textLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (textLength > MAX_HEADER_TEXT_LENGTH) {
    throw new NpyFormatError(`header of ${textLength} bytes is longer than the ${MAX_HEADER_TEXT_LENGTH} read`);
  }
  return { version, textStart, headerLength: textStart + textLength };
}

function parseHeaderText(text: string): NpyHeader {
  let dict: PythonValue;
  try {
    dict = parsePythonLiteral(text);
  } catch (error) {
    if (error instanceof PythonLiteralError) throw new NpyFormatError(`header is not a Python literal: ${error.message}`);
    throw error;
  }
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw new NpyFormatError(`header is not a dict: ${text.trim()}`);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!Object.hasOwn(dict, key)) throw new NpyFormatError(`header has no '${key}': ${text.trim()}`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict as Record<string, PythonValue>;
  if (typeof descr !== 'string') throw new NpyFormatError(`structured dtypes are not supported: ${text.trim()}`);
  if (!isNpyDtype(descr)) {
    throw new NpyFormatError(`dtype '${descr}' is not supported (only ${NPY_DTYPES.join(', ')} are)`);
  }
  if (typeof fortranOrder !== 'boolean') throw new NpyFormatError(`fortran_order is not True or False: ${text.trim()}`);
  if (!Array.isArray(shape) || !shape.every((size): size is number => typeof size === 'number')) {
    throw new NpyFormatError(`shape is not a tuple of ints: ${text.trim()}`);
  }
  try {
    npyElementCount(shape);
  } catch (error) {
    if (error instanceof RangeError) throw new NpyFormatError(error.message);
    throw error;
  }
  return { dtype: descr, shape, fortranOrder };
}

const readFromDescriptor = promisify(readCallback);

/** The first `length` bytes of an open file, fewer where the file is shorter. */
async function readStart(file: FileHandle | number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  if (typeof file !== 'number') return bytes.subarray(0, await readAt(file, bytes, 0));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await readFromDescriptor(file, bytes, done, length - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes.subarray(0, done);
}
