import { BusClient } from '@featx/bus';
import { TrainerReadMode } from '@featx/runtime';
import { LocalFirstSource } from './local-first.source';
import { ShardFilesReader } from './shard-files.reader';
import { ShardRowSource, ShardRowsClient, ShardRowsClientOptions } from '@featx/shard-reads';

/**
 * The shard row source FEATX_TRAINER_READ asks for; the caller closes it. Bus reads (bus, and
 * auto for shards not on this disk) wait for a silent store as `bus` says.
 */
export function openShardRowSource(mode: TrainerReadMode, client: BusClient, featuresDir: string, bus: ShardRowsClientOptions = {}): ShardRowSource {
  switch (mode) {
    case 'bus':
      return new ShardRowsClient(client, bus);
    case 'direct':
      return new ShardFilesReader(featuresDir);
    case 'auto':
      return new LocalFirstSource(featuresDir, new ShardFilesReader(featuresDir), new ShardRowsClient(client, bus));
  }
}
