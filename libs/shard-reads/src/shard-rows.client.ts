import { BusClient, NoAnswerError } from '@featx/bus';
import { FeatureDtype, readShardRequest, ReplyOf, shardRowsPerReply } from '@featx/contracts';
import { ShardRef, ShardRows, ShardRowSource } from './shard-row-source';

/**
 * Reads shard rows from the feature store over NATS request/reply: no shared disk needed. Rows
 * travel as stored (v2: float16 at half the bytes) and are decoded by the stream, not here.
 */
export class ShardRowsClient implements ShardRowSource {
  constructor(
    private readonly client: BusClient,
    private readonly timeoutMs = 30000,
  ) {}

  /** Rows one reply holds at the server's max_payload, for rows of `dim` values stored as `dtype`. */
  rowsPerRequest(dim: number, dtype: FeatureDtype): number {
    return shardRowsPerReply(this.client.maxPayload, dim, dtype);
  }

  /** Exactly `count` rows from `start`: one request when one reply holds them, as the stream plans. */
  async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    const first = await this.request(shard, start, count, dim);
    if (first.rows === count) return first;
    // Fewer rows than asked (a reader planning for a larger max_payload): gather the rest.
    const features = first.dtype === 'float16' ? new Uint16Array(count * dim) : new Float32Array(count * dim);
    const labels = new Int32Array(count);
    let done = 0;
    for (let part = first; ; part = await this.request(shard, start + done, count - done, dim)) {
      if (part.dtype !== first.dtype) throw new Error(`feature store "${shard.writer}" sent shard ${shard.id} as ${part.dtype}, then as ${first.dtype}`);
      features.set(part.features, done * dim);
      labels.set(part.labels, done);
      done += part.rows;
      if (done >= count) break;
    }
    return { start, rows: count, dtype: first.dtype, features, labels };
  }

  async close(): Promise<void> {}

  private async request(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    const reply = await this.client.request(readShardRequest, { v: 2, shardId: shard.id, start, count }, { address: shard.writer, timeoutMs: this.timeoutMs }).catch((error: Error) => {
      throw new Error(error instanceof NoAnswerError ? `no answer from feature store "${shard.writer}" for shard ${shard.id}: ${error.message}` : `feature store "${shard.writer}": ${error.message}`);
    });
    const from = `feature store "${shard.writer}" for shard ${shard.id} at row ${start}`;
    if (reply.v !== 2) throw new Error(`${from}: answered a v2 request with a v${reply.v} reply`);
    if (reply.rows <= 0 || reply.rows > count) throw new Error(`${from}: returned ${reply.rows} rows, asked for ${count}`);
    if (reply.dim !== dim) throw new Error(`shard ${shard.id} has ${reply.dim} values per row, expected ${dim}`);
    return { start, rows: reply.rows, dtype: reply.dtype, features: featureValues(reply, from), labels: Int32Array.from(reply.labels) };
  }
}

/** The reply's feature bytes as typed values (a view, or a copy where the bytes are misaligned). */
function featureValues(reply: Extract<ReplyOf<typeof readShardRequest>, { v: 2 }>, from: string): Uint16Array | Float32Array {
  const itemBytes = reply.dtype === 'float16' ? 2 : 4;
  const expected = reply.rows * reply.dim * itemBytes;
  if (reply.features.byteLength !== expected) throw new Error(`${from}: ${reply.features.byteLength} feature bytes for ${reply.rows} rows of ${reply.dim} ${reply.dtype} values (expected ${expected})`);
  const bytes = reply.features.byteOffset % itemBytes === 0 ? reply.features : reply.features.slice();
  const length = reply.rows * reply.dim;
  return reply.dtype === 'float16' ? new Uint16Array(bytes.buffer, bytes.byteOffset, length) : new Float32Array(bytes.buffer, bytes.byteOffset, length);
}
