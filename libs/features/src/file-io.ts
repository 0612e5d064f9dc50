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
  return inPieces(bytes.byteLength, async (offset, length) => (await handle.read(bytes, offset, length, position + offset)).bytesRead);
}

/** Writes all of `data` at `position`, however many calls it takes. */
export async function writeAt(handle: FileHandle, data: ArrayBufferView, position: number): Promise<void> {
  const bytes = bytesOf(data);
  const done = await inPieces(bytes.byteLength, async (offset, length) => (await handle.write(bytes, offset, length, position + offset)).bytesWritten);
  if (done < bytes.byteLength) throw new Error(`write made no progress at byte ${position + done}`);
}

/**
 * Moves `total` bytes with `move(offset, length)` in pieces Node accepts, until all are moved or a
 * call moves none (the end of the file, for a read); returns how many were moved.
 */
async function inPieces(total: number, move: (offset: number, length: number) => Promise<number>): Promise<number> {
  let done = 0;
  while (done < total) {
    const moved = await move(done, Math.min(total - done, MAX_IO_BYTES));
    if (moved === 0) break;
    done += moved;
  }
  return done;
}
