import { BusClient } from '@featx/bus';
import { TrainerReadMode } from '@featx/runtime';
import { LocalFirstSource } from './local-first.source';
import { ShardFilesReader } from './shard-files.reader';
import { ShardRowSource, ShardRowsClient } from '@featx/shard-reads';

/** The shard row source FEATX_TRAINER_READ asks for; the caller closes it. */
export function openShardRowSource(mode: TrainerReadMode, client: BusClient, featuresDir: string): ShardRowSource {
  switch (mode) {
    case 'bus':
      return new ShardRowsClient(client);
    case 'direct':
      return new ShardFilesReader(featuresDir);
    case 'auto':
      return new LocalFirstSource(featuresDir, new ShardFilesReader(featuresDir), new ShardRowsClient(client));
  }
}
