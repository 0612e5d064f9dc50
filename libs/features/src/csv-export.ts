import { formatFloat32 } from './format-float32';
import type { ShardBatchRange, ShardReader } from './shard-reader';

export interface CsvExportOptions extends ShardBatchRange {
  /** Rows read from the shard at a time (default: about 2^20 values' worth). */
  batchRows?: number;
  /** Text is yielded once it reaches about this many characters (default 2^20), always whole lines. */
  chunkChars?: number;
}

const DEFAULT_BATCH_VALUES = 1 << 20;
const DEFAULT_CHUNK_CHARS = 1 << 20;

/**
 * The shard's rows as the CSV of the Keras tutorial "Feature extraction on large datasets"
 * (`extract_features.py`): one line per image, `label,v1,v2,...,vD`, the label being the
 * class index, no header line. Yielded as strings of whole lines; memory stays at one batch
 * and one chunk whatever the shard's size. Values are the shortest decimals that read back as
 * the same float32.
 */
export async function* shardToCsv(reader: ShardReader, options: CsvExportOptions = {}): AsyncGenerator<string, void, undefined> {
  const batchRows = options.batchRows ?? Math.max(1, Math.floor(DEFAULT_BATCH_VALUES / reader.dim));
  const chunkChars = options.chunkChars ?? DEFAULT_CHUNK_CHARS;
  let lines: string[] = [];
  let chars = 0;
  for await (const batch of reader.batches(batchRows, options)) {
    for (let row = 0; row < batch.labels.length; row++) {
      const line = csvLine(batch.labels[row]!, batch.features.subarray(row * reader.dim, (row + 1) * reader.dim));
      lines.push(line);
      chars += line.length;
      if (chars >= chunkChars) {
        yield lines.join('');
        lines = [];
        chars = 0;
      }
    }
  }
  if (lines.length > 0) yield lines.join('');
}

/** One CSV line, newline included: the label, then each value. */
export function csvLine(label: number, features: Float32Array): string {
  const fields = new Array<string>(features.length + 1);
  fields[0] = String(label);
  for (let i = 0; i < features.length; i++) fields[i + 1] = formatFloat32(features[i]!);
  return `${fields.join(',')}\n`;
}
