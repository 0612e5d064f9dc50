import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SHARD_FILE_NAMES, shardDir } from '@featx/features';
import { ShardFilesReader } from './shard-files.reader';
import { ShardRef, ShardRows, ShardRowSource } from '@featx/shard-reads';

/**
 * `FEATX_TRAINER_READ=auto`: each shard whose files are under this trainer's features dir is
 * read from them, any other over the bus; decided once per shard, on its first read.
 */
export class LocalFirstSource implements ShardRowSource {
  private readonly local = new Map<string, Promise<boolean>>();

  constructor(
    private readonly featuresDir: string,
    private readonly files: ShardFilesReader,
    private readonly bus: ShardRowSource,
  ) {}

  async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    const source = (await this.isLocal(shard)) ? this.files : this.bus;
    return source.read(shard, start, count, dim);
  }

  release(rows: ShardRows): void {
    // Only the bus lends memory; it ignores rows it did not lend.
    this.bus.release?.(rows);
  }

  async close(): Promise<void> {
    await Promise.all([this.files.close(), this.bus.close()]);
  }

  private isLocal(shard: ShardRef): Promise<boolean> {
    let local = this.local.get(shard.id);
    if (!local) {
      local = fs.access(path.join(shardDir(this.featuresDir, shard.path), SHARD_FILE_NAMES.features)).then(
        () => true,
        () => false,
      );
      this.local.set(shard.id, local);
    }
    return local;
  }
}
