import { BusClient, NoAnswerError } from '@featx/bus';
import { readShardRequest } from '@featx/contracts';

export interface ShardRef {
  id: string;
  /** The feature-store replica that holds it. */
  writer: string;
  rows: number;
}

export interface ShardRows {
  start: number;
  rows: number;
  features: Float32Array;
  labels: Int32Array;
}

/** Room for the reply's other fields. */
const ENVELOPE_BYTES = 16 * 1024;

/** Reads shard rows from the feature store over NATS request/reply: no shared disk needed. */
export class ShardRowsClient {
  constructor(
    private readonly client: BusClient,
    private readonly timeoutMs = 30000,
  ) {}

  /** Rows that fit in one reply for vectors of `dim` float32 values. */
  rowsPerRequest(dim: number): number {
    return Math.max(1, Math.floor((this.client.maxPayload - ENVELOPE_BYTES) / (dim * 4 + 32)));
  }

  /** Exactly `count` rows from `start` (several requests when one reply cannot hold them). */
  async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    const features = new Float32Array(count * dim);
    const labels = new Int32Array(count);
    let done = 0;
    while (done < count) {
      const reply = await this.request(shard, start + done, count - done);
      if (reply.dim !== dim) throw new Error(`shard ${shard.id} has ${reply.dim} values per row, expected ${dim}`);
      const bytes = reply.features.byteOffset % 4 === 0 ? reply.features : reply.features.slice();
      features.set(new Float32Array(bytes.buffer, bytes.byteOffset, reply.rows * dim), done * dim);
      labels.set(reply.labels, done);
      done += reply.rows;
    }
    return { start, rows: count, features, labels };
  }

  private async request(shard: ShardRef, start: number, count: number) {
    const reply = await this.client.request(readShardRequest, { v: 1, shardId: shard.id, start, count }, { address: shard.writer, timeoutMs: this.timeoutMs }).catch((error: Error) => {
      throw new Error(error instanceof NoAnswerError ? `no answer from feature store "${shard.writer}" for shard ${shard.id}: ${error.message}` : `feature store "${shard.writer}": ${error.message}`);
    });
    if (reply.rows <= 0) throw new Error(`feature store "${shard.writer}" returned no rows for shard ${shard.id} at ${start}`);
    return reply;
  }
}
