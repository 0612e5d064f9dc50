import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { syncDirectory } from './sync-directory';

/**
 * Replaces `file` with `data` atomically: written to a temporary file in the same folder (so the
 * rename cannot cross file systems), flushed, renamed over `file`, then the folder flushed. A
 * reader sees the old content or the new, never part of it, and a crash cannot lose the new
 * file once this resolves. The temporary name is unique, so concurrent writers of one file
 * (replicas caching the same export) never mix their bytes; the last rename wins.
 */
export async function writeFileAtomic(file: string, data: string | ArrayBufferView): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError(`file must be a non-empty path, got ${JSON.stringify(file)}`);
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.${path.basename(file)}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temporary, 'wx');
    try {
      await handle.writeFile(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}
