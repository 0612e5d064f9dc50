import { promises as fs } from 'node:fs';

/**
 * Flushes a folder's entries (files created or renamed in it) to disk; without it a crash can
 * lose a new file although its contents were synced. Windows cannot open folders, so skipped there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
