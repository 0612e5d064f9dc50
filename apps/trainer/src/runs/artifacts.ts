import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * A run's folder under the trainer's own artifacts root (no other service reads it: the model and
 * the pictures are published to the artifacts bucket, see RunPublication):
 *   checkpoint/  the head and optimizer state after the last completed epoch (resume point)
 *   best/        the checkpoint with the lowest validation loss so far
 *   model/       the final head in TF.js layers format + featx-head.json (all prediction needs)
 *   curves.svg|png, confusion.svg|png
 */
export class RunArtifacts {
  constructor(
    readonly root: string,
    readonly runId: string,
  ) {}

  get relativePath(): string {
    return this.runId;
  }
  get dir(): string {
    return path.join(this.root, this.runId);
  }
  get checkpoint(): string {
    return path.join(this.dir, 'checkpoint');
  }
  get best(): string {
    return path.join(this.dir, 'best');
  }
  get model(): string {
    return path.join(this.dir, 'model');
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /**
   * Writes a folder through `write` into a temporary sibling, then swaps it in with renames, so a
   * crash never leaves a half-written checkpoint where the last good one was.
   */
  async replaceFolder(target: string, write: (dir: string) => Promise<void>): Promise<void> {
    const temporary = `${target}.tmp-${process.pid}`;
    const previous = `${target}.old-${process.pid}`;
    await fs.rm(temporary, { recursive: true, force: true });
    await fs.mkdir(temporary, { recursive: true });
    await write(temporary);
    await fs.rm(previous, { recursive: true, force: true });
    await fs.rename(target, previous).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await fs.rename(temporary, target);
    await fs.rm(previous, { recursive: true, force: true });
  }

  async copyFolder(from: string, to: string): Promise<void> {
    await this.replaceFolder(to, (dir) => fs.cp(from, dir, { recursive: true }));
  }

  async exists(folder: string): Promise<boolean> {
    return fs.access(folder).then(
      () => true,
      () => false,
    );
  }
}
