export { NpyFormatError, ShardCorruptError, ShardError } from './errors';
export { fromFloat16, toFloat16, useFloat16Decoder } from './float16';
export type { Float16Decoder } from './float16';
export { NPY_DTYPES, npyItemSize } from './npy-dtype';
export type { NpyData, NpyDataOf, NpyDtype } from './npy-dtype';
export {
  encodeNpyHeader,
  NPY_HEADER_LENGTH,
  NPY_MAGIC,
  readNpy,
  readNpyFileHeader,
  readNpyHeader,
  writeNpy,
} from './npy';
export type { NpyArray, NpyHeader, NpyHeaderInfo, NpyVersion } from './npy';
export { SHARD_DTYPES, SHARD_FILE_NAMES } from './shard-layout';
export type { ShardDtype, ShardFileKey } from './shard-layout';
export { ShardWriter } from './shard-writer';
export type { SealedShard, SealedShardFile, ShardRows, ShardWriterOptions } from './shard-writer';
export { shardDir, shardPath } from './shard-location';
export type { ShardLocation } from './shard-location';
export { ShardReader } from './shard-reader';
export { ShardReaderCache } from './shard-reader-cache';
export type { ShardReaderCacheOptions } from './shard-reader-cache';
export type { ShardBatch, ShardReaderOptions, StoredShardBatch } from './shard-reader';
export { formatFloat32 } from './format-float32';
export { csvLine, csvOfRows, NPY_EXPORT_ARRAYS, planNpyRows } from './export';
export type { CsvRowsOptions, NpyExportArray, NpyRowsPlan, RowsExportShape, StoredRows } from './export';
