import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SuiteTempDir {
  /** The folder, as a real path (macOS's /tmp is a symlink); read it inside hooks and tests. */
  path(): string;
  /** A fresh path under the folder (not created), e.g. one shard folder per test. */
  next(name: string): string;
}

/**
 * Registers the jest hooks of one temporary folder for the describe block it is called in: made
 * before its tests, removed after them.
 */
export function suiteTempDir(prefix: string): SuiteTempDir {
  let dir = '';
  let count = 0;
  beforeAll(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  return { path: () => dir, next: (name) => path.join(dir, `${name}-${count++}`) };
}
