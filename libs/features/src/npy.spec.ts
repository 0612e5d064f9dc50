import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NpyFormatError } from './errors';
import { fromFloat16 } from './float16';
import { encodeNpyHeader, NPY_HEADER_LENGTH, readNpy, readNpyFileHeader, readNpyHeader, writeNpy } from './npy';
import type { NpyDtype } from './npy-dtype';
import { makeTempDir, randomFloats, removeDir, sha256Of } from './testing/fixtures';
import { itWithNumpy, loadWithNumpy, runPython } from './testing/numpy';

/** A header as Python would write it, padded to `length` bytes in all. */
function rawHeader(text: string, { major = 1, length = 128 } = {}): Buffer {
  const prefix = major === 1 ? 10 : 12;
  const bytes = Buffer.alloc(length, 0x20);
  Buffer.from('\x93NUMPY', 'latin1').copy(bytes);
  bytes[6] = major;
  bytes[7] = 0;
  if (major === 1) bytes.writeUInt16LE(length - prefix, 8);
  else bytes.writeUInt32LE(length - prefix, 8);
  bytes.write(text, prefix, 'latin1');
  bytes[length - 1] = 0x0a;
  return bytes;
}

describe('npy headers', () => {
  it.each([[[0, 4]], [[3]], [[]], [[2, 3, 4]], [[Number.MAX_SAFE_INTEGER, 1]], [[1, Number.MAX_SAFE_INTEGER]]])(
    'round-trips shape %j in a 128-byte version 1.0 header',
    (shape) => {
      const header = encodeNpyHeader({ dtype: '<f4', shape, fortranOrder: false });
      expect(header.length).toBe(NPY_HEADER_LENGTH);
      expect(header[header.length - 1]).toBe(0x0a);
      expect(readNpyHeader(header)).toEqual({ dtype: '<f4', shape, fortranOrder: false, headerLength: 128, version: '1.0' });
    },
  );

  it('writes the same bytes as numpy for the same array', () => {
    expect(encodeNpyHeader({ dtype: '<f4', shape: [3, 4], fortranOrder: false }).toString('latin1')).toBe(
      rawHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }").toString('latin1'),
    );
  });

  it('keeps every dtype and the fortran order, and reads past the header only what it needs', () => {
    for (const dtype of ['<f2', '<f4', '<i4', '<i8'] as NpyDtype[]) {
      const header = encodeNpyHeader({ dtype, shape: [5], fortranOrder: true });
      const withData = Buffer.concat([header, Buffer.alloc(40)]);
      expect(readNpyHeader(withData)).toMatchObject({ dtype, shape: [5], fortranOrder: true, headerLength: 128 });
    }
  });

  it('grows past 128 bytes for shapes of many dimensions, in steps of 64, unless a length is asked for', () => {
    const shape = [0, 1e12, 1e12, 1e12, 1e12, 1e3]; // no values, but a long shape
    expect(encodeNpyHeader({ dtype: '<i8', shape: shape.slice(0, 3), fortranOrder: false }).length).toBe(128);
    const long = encodeNpyHeader({ dtype: '<i8', shape, fortranOrder: false });
    expect(long.length).toBe(192);
    expect(readNpyHeader(long).shape).toEqual(shape);
    expect(() => encodeNpyHeader({ dtype: '<i8', shape, fortranOrder: false }, 128)).toThrow(NpyFormatError);
    expect(() => encodeNpyHeader({ dtype: '<i8', shape: [1], fortranOrder: false }, 100)).toThrow(RangeError);
    expect(encodeNpyHeader({ dtype: '<i8', shape: [1], fortranOrder: false }, 256).length).toBe(256);
    expect(() => encodeNpyHeader({ dtype: '<i8', shape: [1], fortranOrder: false }, 64)).toThrow(/needs 68 bytes, more than 64/);
  });

  it('refuses shapes that are not sizes', () => {
    expect(() => encodeNpyHeader({ dtype: '<f4', shape: [-1], fortranOrder: false })).toThrow(RangeError);
    expect(() => encodeNpyHeader({ dtype: '<f4', shape: [1.5], fortranOrder: false })).toThrow(RangeError);
    expect(() => encodeNpyHeader({ dtype: '<f8' as NpyDtype, shape: [1], fortranOrder: false })).toThrow(NpyFormatError);
  });

  it('reads version 2.0 and 3.0 headers, Python 2 longs, double quotes and keys in any order', () => {
    expect(readNpyHeader(rawHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 4L), }", { major: 2 }))).toEqual({
      dtype: '<i8',
      shape: [3, 4],
      fortranOrder: false,
      headerLength: 128,
      version: '2.0',
    });
    expect(readNpyHeader(rawHeader('{"shape": (7,), "fortran_order": True, "descr": "<f2"}', { major: 3 }))).toEqual({
      dtype: '<f2',
      shape: [7],
      fortranOrder: true,
      headerLength: 128,
      version: '3.0',
    });
  });

  it.each([
    ['a PNG', Buffer.from('\x89PNG\r\n\x1a\n0000000000', 'latin1'), /not a \.npy file/],
    ['an empty file', Buffer.alloc(0), /not a \.npy file/],
    ['a cut header', rawHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }").subarray(0, 50), /cut short/],
    ['just the magic', Buffer.from('\x93NUMPY', 'latin1'), /cut short/],
    ['version 4.0', Buffer.concat([Buffer.from('\x93NUMPY\x04\x00', 'latin1'), Buffer.alloc(8)]), /version 4\.0 is not supported/],
    ['float64', rawHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"), /dtype '<f8' is not supported/],
    ['big endian', rawHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }"), /dtype '>f4' is not supported/],
    ['a structured dtype', rawHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }"), /structured/],
    ['no shape', rawHeader("{'descr': '<f4', 'fortran_order': False, }"), /no 'shape'/],
    ['a negative size', rawHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), /bad size/],
    ['a float size', rawHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }"), /floats are not supported/],
    ['code', rawHeader("__import__('os').system('true')"), /unknown name/],
    ['not a dict', rawHeader("('<f4', False, (3,))"), /not a dict/],
    ['a bad fortran_order', rawHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }"), /fortran_order/],
  ])('refuses %s with a clear NpyFormatError', (_, bytes, message) => {
    let error: unknown;
    try {
      readNpyHeader(bytes);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(NpyFormatError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('npy files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(() => removeDir(dir));

  const arrays = () => ({
    '<f4': { shape: [3, 4], data: randomFloats(12, 1) },
    '<i4': { shape: [5], data: Int32Array.of(0, -1, 2 ** 31 - 1, -(2 ** 31), 7) },
    '<i8': { shape: [2, 2], data: BigInt64Array.of(0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)) },
    '<f2': { shape: [2, 3], data: Uint16Array.of(0x3c00, 0x7c00, 0x0001, 0x8000, 0x7bff, 0x7e00) },
  });

  it('writes and reads back every dtype', async () => {
    for (const [dtype, { shape, data }] of Object.entries(arrays()) as [NpyDtype, { shape: number[]; data: never }][]) {
      const file = path.join(dir, `${dtype.slice(1)}.npy`);
      await writeNpy(file, dtype, shape, data);
      const stat = await fs.stat(file);
      expect(stat.size).toBe(128 + (data as ArrayBufferView).byteLength);
      const back = await readNpy(file);
      expect(back).toEqual({ dtype, shape, fortranOrder: false, data });
    }
  });

  it('rounds float32 values written as <f2, and returns raw halves to widen with fromFloat16', async () => {
    const file = path.join(dir, 'half.npy');
    await writeNpy(file, '<f2', [4], Float32Array.of(1, 0.1, -65504, 1e-8));
    const back = await readNpy(file);
    expect(back.dtype).toBe('<f2');
    expect(back.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(fromFloat16(back.data as Uint16Array))).toEqual([1, 0.0999755859375, -65504, 0]);
  });

  it('refuses data that does not fit the dtype or the shape', async () => {
    const file = path.join(dir, 'bad.npy');
    await expect(writeNpy(file, '<i4', [2], Float32Array.of(1, 2))).rejects.toThrow('<i4 values must be a Int32Array, got Float32Array');
    await expect(writeNpy(file, '<f4', [3], Float32Array.of(1, 2))).rejects.toThrow(/holds 3 values, the data 2/);
  });

  it('reads headers from a FileHandle and from a descriptor', async () => {
    const file = path.join(dir, 'header.npy');
    await writeNpy(file, '<i8', [2, 2], BigInt64Array.of(1n, 2n, 3n, 4n));
    const handle = await fs.open(file, 'r');
    try {
      const expected = { dtype: '<i8', shape: [2, 2], fortranOrder: false, headerLength: 128, version: '1.0' };
      await expect(readNpyFileHeader(handle)).resolves.toEqual(expected);
      await expect(readNpyFileHeader(handle.fd)).resolves.toEqual(expected);
    } finally {
      await handle.close();
    }
  });

  it('names the file when its data or header is cut short', async () => {
    const file = path.join(dir, 'cut.npy');
    await writeNpy(file, '<f4', [10], randomFloats(10, 2));
    await fs.truncate(file, 128 + 20);
    await expect(readNpy(file)).rejects.toThrow(`${file}: data is cut short: shape (10,) needs 40 bytes, the file holds 20`);
    await fs.truncate(file, 60);
    await expect(readNpy(file)).rejects.toThrow(`${file}: header is cut short`);
    await fs.writeFile(file, 'x,y\n1,2\n');
    await expect(readNpy(file)).rejects.toThrow(NpyFormatError);
  });

  itWithNumpy('writes files numpy loads with mmap_mode="r", with the same values', async () => {
    const files: Record<string, string> = {};
    for (const [dtype, { shape, data }] of Object.entries(arrays()) as [NpyDtype, { shape: number[]; data: never }][]) {
      files[dtype] = path.join(dir, `for-numpy-${dtype.slice(1)}.npy`);
      await writeNpy(files[dtype]!, dtype, shape, data);
    }
    const seen = loadWithNumpy(Object.values(files));
    for (const [dtype, { shape, data }] of Object.entries(arrays())) {
      expect(seen[files[dtype]!]).toEqual({ memmap: true, dtype, shape, sha256: sha256Of(data) });
    }
  });

  itWithNumpy('reads files numpy writes: versions 1.0 and 2.0, Fortran order, 0-d and empty arrays', async () => {
    const names = ['f4', 'v2', 'fortran', 'scalar', 'empty', 'f2', 'i8'].map((name) => path.join(dir, `numpy-${name}.npy`));
    runPython(
      `import sys, json, numpy as np
f4, v2, fortran, scalar, empty, f2, i8 = sys.argv[1:]
np.save(f4, np.arange(12, dtype='<f4').reshape(3, 4) / 8)
with open(v2, 'wb') as f:
    np.lib.format.write_array(f, np.arange(6, dtype='<i4').reshape(2, 3), version=(2, 0))
np.save(fortran, np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3)))
np.save(scalar, np.float32(2.5))
np.save(empty, np.zeros((0, 7), dtype='<f2'))
np.save(f2, np.array([1, 0.5, -2, np.inf], dtype='<f2'))
np.save(i8, np.array([2**62, -5], dtype='<i8'))
print(json.dumps(True))`,
      names,
    );
    const [f4, v2, fortran, scalar, empty, f2, i8] = await Promise.all(names.map((name) => readNpy(name)));
    expect(f4).toEqual({ dtype: '<f4', shape: [3, 4], fortranOrder: false, data: Float32Array.from({ length: 12 }, (_, i) => i / 8) });
    expect(v2).toEqual({ dtype: '<i4', shape: [2, 3], fortranOrder: false, data: Int32Array.of(0, 1, 2, 3, 4, 5) });
    const v2Handle = await fs.open(names[1]!, 'r');
    await expect(readNpyFileHeader(v2Handle)).resolves.toMatchObject({ version: '2.0', headerLength: 128 });
    await v2Handle.close();
    expect(fortran).toEqual({ dtype: '<i4', shape: [2, 3], fortranOrder: true, data: Int32Array.of(0, 3, 1, 4, 2, 5) });
    expect(scalar).toEqual({ dtype: '<f4', shape: [], fortranOrder: false, data: Float32Array.of(2.5) });
    expect(empty).toEqual({ dtype: '<f2', shape: [0, 7], fortranOrder: false, data: new Uint16Array(0) });
    expect(Array.from(fromFloat16(f2!.data as Uint16Array))).toEqual([1, 0.5, -2, Infinity]);
    expect(i8!.data).toEqual(BigInt64Array.of(2n ** 62n, -5n));
  });
});
