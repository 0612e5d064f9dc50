export { ShardRowsClient } from './shard-rows.client';
export type { ShardReadBus, ShardReadOptions, ShardRowsClientOptions } from './shard-rows.client';
export type { ShardRef, ShardRows, ShardRowSource } from './shard-row-source';
export { DEFAULT_ORDERED_READ_AHEAD_BYTES, rowsInOrder } from './rows-in-order';
export type { RowsInOrderOptions, ShardPart } from './rows-in-order';
export { DEFAULT_RETRY, pause, StoreUnavailableError, StoreWaits } from './store-waits';
export type { RetryOptions, StoreWait } from './store-waits';
