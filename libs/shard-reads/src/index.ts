export { ShardRowsClient } from './shard-rows.client';
export type { ShardRef, ShardRows, ShardRowSource } from './shard-row-source';
