/** A file is not a `.npy` file, or uses a part of the format this library does not read. */
export class NpyFormatError extends Error {
  override readonly name: string = 'NpyFormatError';
}

/**
 * A shard cannot be used as asked: its files disagree with the options (dim, dtype), the writer
 * is closed or broken, or a request falls outside its rows.
 */
export class ShardError extends Error {
  override readonly name: string = 'ShardError';
}

/**
 * A shard lost data it should hold: fewer complete rows on disk than were committed, a file
 * missing while others hold rows, or files shorter than their headers say. Never repaired
 * silently, since the rows are gone.
 */
export class ShardCorruptError extends ShardError {
  override readonly name: string = 'ShardCorruptError';
}
