import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh folder under the system's temp dir, for one spec, and its removal. */
export function tempDirHooks(prefix: string): { dir(): string } {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => fs.rm(dir!, { recursive: true, force: true }));
  return { dir: () => dir! };
}
