import { BusClient, NoAnswerError, releasePayload } from '@featx/bus';
import { FeatureDtype, readShardRequest, ReplyOf, shardRowsPerReply } from '@featx/contracts';
import { ShardRef, ShardRows, ShardRowSource } from './shard-row-source';
import { DEFAULT_RETRY, pause, RetryOptions, StoreUnavailableError, StoreWait, StoreWaits } from './store-waits';

/** What a read asks for besides the rows' range. */
export interface ShardReadOptions {
  /** false: the labels and image ids only (an export of those arrays); default true. */
  features?: boolean;
}

/** What the client needs of the bus: addressed requests and the server's max_payload. */
export type ShardReadBus = Pick<BusClient, 'request' | 'maxPayload'>;

export interface ShardRowsClientOptions extends RetryOptions {
  /** How long one request waits for its reply (FEATX_STORE_READ_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Hears the store the reader waits for (the oldest wait), and null once every store answers again. */
  onWait?: (wait: StoreWait | null) => void;
}

/**
 * Reads shard rows from the feature store that holds them (the shard's writer) over NATS
 * request/reply: no shared disk needed. Rows travel as stored (v2: float16 at half the bytes)
 * and are decoded by the caller, not here.
 *
 * A store that does not answer (stopped, restarting, cut off) is asked again, with backoff, for
 * up to `maxWaitMs` (default without limit); meanwhile `onWait` names it. An answer is never
 * partial: a read resolves with exactly the rows asked for, or fails.
 */
export class ShardRowsClient implements ShardRowSource {
  private readonly timeoutMs: number;
  private readonly retry: Required<Omit<RetryOptions, 'signal'>> & Pick<RetryOptions, 'signal'>;
  private readonly waits: StoreWaits;

  constructor(
    private readonly client: ShardReadBus,
    options: ShardRowsClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30000;
    this.retry = {
      initialDelayMs: options.initialDelayMs ?? DEFAULT_RETRY.initialDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
      maxWaitMs: options.maxWaitMs ?? Infinity,
      signal: options.signal,
      beforeRetry: options.beforeRetry ?? (() => undefined),
      now: options.now ?? Date.now,
      sleep: options.sleep ?? pause,
    };
    this.waits = new StoreWaits(options.onWait);
  }

  /** The store waited for longest now, or null. */
  get waitingFor(): StoreWait | null {
    return this.waits.oldest;
  }

  /** Rows one reply holds at the server's max_payload, for rows of `dim` values stored as `dtype` (without features: labels and ids only). */
  rowsPerRequest(dim: number, dtype: FeatureDtype, options: ShardReadOptions = {}): number {
    return shardRowsPerReply(this.client.maxPayload, options.features === false ? 0 : dim, dtype);
  }

  /**
   * Exactly `count` rows from `start`: one request when one reply holds them, as the stream plans.
   * `features: false`: their labels and image ids only (features empty).
   */
  async read(shard: ShardRef, start: number, count: number, dim: number, options: ShardReadOptions = {}): Promise<ShardRows> {
    const withFeatures = options.features !== false;
    const first = await this.request(shard, start, count, dim, withFeatures);
    if (first.rows === count) return first;
    // Fewer rows than asked (a reader planning for a larger max_payload): gather the rest.
    const values = withFeatures ? count * dim : 0;
    const features = first.dtype === 'float16' ? new Uint16Array(values) : new Float32Array(values);
    const labels = new Int32Array(count);
    const imageIds = new Float64Array(count);
    let done = 0;
    for (let part = first; ; part = await this.request(shard, start + done, count - done, dim, withFeatures)) {
      if (part.dtype !== first.dtype) throw new Error(`feature store "${shard.writer}" sent shard ${shard.id} as ${part.dtype}, then as ${first.dtype}`);
      features.set(part.features, done * dim);
      releasePayload(part.features);
      labels.set(part.labels, done);
      imageIds.set(part.imageIds!, done);
      done += part.rows;
      if (done >= count) break;
    }
    return { start, rows: count, dtype: first.dtype, features, labels, imageIds };
  }

  /** Gives the reply's buffer back to the bus once the caller is done with the rows' features (they are a view of it). */
  release(rows: ShardRows): void {
    releasePayload(rows.features);
  }

  async close(): Promise<void> {}

  /** One request, asked again while the store does not answer (up to maxWaitMs); an error reply is final. */
  private async answer(shard: ShardRef, start: number, count: number, withFeatures: boolean): Promise<ReplyOf<typeof readShardRequest>> {
    const { now, sleep, signal, maxWaitMs, maxDelayMs, beforeRetry } = this.retry;
    let delay = this.retry.initialDelayMs;
    for (;;) {
      try {
        const message = { v: 2 as const, shardId: shard.id, start, count, ...(withFeatures ? {} : { features: false }) };
        const reply = await this.client.request(readShardRequest, message, { address: shard.writer, timeoutMs: this.timeoutMs });
        this.waits.answered(shard.writer);
        return reply;
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw new Error(`feature store "${shard.writer}": ${(error as Error).message}`);
        const wait = this.waits.noAnswer(shard.writer, `no answer for shard ${shard.id}: ${error.message}`, new Date(now()));
        const waited = now() - wait.since.getTime();
        if (waited >= maxWaitMs) throw new StoreUnavailableError(shard.writer, waited, wait.reason);
        try {
          await sleep(Math.min(delay, maxDelayMs, Math.max(0, maxWaitMs - waited)), signal);
        } catch (aborted) {
          // The caller names an interruption in its own terms (a trainer's shutdown releases the run, never fails it).
          beforeRetry();
          throw aborted;
        }
        beforeRetry();
        delay = Math.min(delay * 2, maxDelayMs);
      }
    }
  }

  private async request(shard: ShardRef, start: number, count: number, dim: number, withFeatures: boolean): Promise<ShardRows> {
    const reply = await this.answer(shard, start, count, withFeatures);
    const from = `feature store "${shard.writer}" for shard ${shard.id} at row ${start}`;
    if (reply.v !== 2) throw new Error(`${from}: answered a v2 request with a v${reply.v} reply`);
    if (reply.rows <= 0 || reply.rows > count) throw new Error(`${from}: returned ${reply.rows} rows, asked for ${count}`);
    if (reply.dim !== dim) throw new Error(`shard ${shard.id} has ${reply.dim} values per row, expected ${dim}`);
    if (reply.imageIds.length !== reply.rows || reply.labels.length !== reply.rows) throw new Error(`${from}: ${reply.labels.length} labels and ${reply.imageIds.length} image ids for ${reply.rows} rows`);
    // Without features: none kept, whatever came (a store that predates the option sends them).
    const features = withFeatures ? featureValues(reply, from) : reply.dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    return { start, rows: reply.rows, dtype: reply.dtype, features, labels: Int32Array.from(reply.labels), imageIds: reply.imageIds };
  }
}

/** The reply's feature bytes as typed values (a view, or a copy where the bytes are misaligned). */
function featureValues(reply: Extract<ReplyOf<typeof readShardRequest>, { v: 2 }>, from: string): Uint16Array | Float32Array {
  const itemBytes = reply.dtype === 'float16' ? 2 : 4;
  const expected = reply.rows * reply.dim * itemBytes;
  if (reply.features.byteLength !== expected) throw new Error(`${from}: ${reply.features.byteLength} feature bytes for ${reply.rows} rows of ${reply.dim} ${reply.dtype} values (expected ${expected})`);
  // A copy only where the bytes are misaligned (Uint8Array's slice: a Buffer's slice is a view).
  const bytes = reply.features.byteOffset % itemBytes === 0 ? reply.features : Uint8Array.prototype.slice.call(reply.features);
  const length = reply.rows * reply.dim;
  return reply.dtype === 'float16' ? new Uint16Array(bytes.buffer, bytes.byteOffset, length) : new Float32Array(bytes.buffer, bytes.byteOffset, length);
}
