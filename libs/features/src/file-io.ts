import type { FileHandle } from 'node:fs/promises';

/** Node refuses single reads and writes over 2 GiB; larger ones go in pieces of this size. */
const MAX_IO_BYTES = 1 << 30;

/** The bytes of a typed array, without copying. */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Reads exactly `into.byteLength` bytes from `position`. Returns how many were read, which is
 * less only where the file ends first.
 */
export async function readAt(handle: FileHandle, into: ArrayBufferView, position: number): Promise<number> {
  const bytes = bytesOf(into);
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(bytes.byteLength - done, MAX_IO_BYTES);
    const { bytesRead } = await handle.read(bytes, done, length, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `data` at `position`, however many calls it takes. */
export async function writeAt(handle: FileHandle, data: ArrayBufferView, position: number): Promise<void> {
  const bytes = bytesOf(data);
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(bytes.byteLength - done, MAX_IO_BYTES);
    const { bytesWritten } = await handle.write(bytes, done, length, position + done);
    if (bytesWritten === 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += bytesWritten;
  }
}
