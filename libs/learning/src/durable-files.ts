import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

/** Node refuses single reads and writes over 2 GiB; larger ones go in pieces of this size. */
const MAX_IO_BYTES = 1 << 30;

export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes all of `data` at the handle's current position, however many calls it takes. */
export async function writeAll(handle: FileHandle, data: ArrayBufferView): Promise<void> {
  const bytes = bytesOf(data);
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, MAX_IO_BYTES));
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/** Fills `into` from `position`; throws if the file ends first. */
export async function readExactly(handle: FileHandle, into: ArrayBufferView, position: number, what: string): Promise<void> {
  const bytes = bytesOf(into);
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesRead } = await handle.read(bytes, done, Math.min(bytes.byteLength - done, MAX_IO_BYTES), position + done);
    if (bytesRead === 0) throw new Error(`${what} ends at byte ${position + done}, expected ${position + bytes.byteLength}`);
    done += bytesRead;
  }
}

/** A name for a new file that no concurrent writer picks too. */
export function uniqueName(prefix: string, extension: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}${extension}`;
}

/**
 * Writes `parts` to a new file and flushes it to disk. Used for data files that nothing refers to
 * until a manifest naming them is committed (writeFileAtomic of @featx/files), so a crash mid-write leaves only an
 * orphan, never a half-written file in use.
 */
export async function writeDurably(file: string, parts: Iterable<ArrayBufferView> | AsyncIterable<ArrayBufferView>): Promise<number> {
  const handle = await fs.open(file, 'w');
  let bytes = 0;
  try {
    for await (const part of parts) {
      await writeAll(handle, part);
      bytes += part.byteLength;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

/** Deletes the files in `dir` whose names match `pattern`, except those in `keep`. */
export async function removeStale(dir: string, pattern: RegExp, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (pattern.test(name) && !keep.has(name)) await fs.rm(path.join(dir, name), { force: true });
  }
}
