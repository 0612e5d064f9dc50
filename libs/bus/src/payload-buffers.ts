/**
 * Buffers for large incoming messages, lent by the parser (`large-payloads.ts`) and given back by
 * a reader that is done with a message's bytes (`releasePayload`), so that the next large message
 * is assembled in memory already in use instead of a fresh allocation.
 *
 * Why: every 1 MiB shard reply used to be a new ArrayBuffer. V8 starts a full (mark-compact)
 * collection for each ~64 MB of such external memory, and each one marks the whole heap: on the
 * 2-core Zen 5 machine that was about half of the bus reader's CPU (`bench:read`, perf). A buffer
 * nobody gives back is simply collected as before, so only the reader that releases must be sure
 * it no longer reads the bytes.
 */

/** Messages this size or larger are assembled in a lent buffer. */
export const LENT_PAYLOAD_MIN_BYTES = 256 * 1024;

/** Idle buffers kept for reuse, in bytes, per process: beyond it, given-back buffers are left to the GC. */
export const IDLE_PAYLOAD_BYTES = 64 * 1024 * 1024;

export class PayloadBufferPool {
  /** Idle buffers by capacity (a power of two). */
  private readonly idle = new Map<number, ArrayBuffer[]>();
  private idleBytes = 0;
  /** Buffers lent and not given back; a WeakSet, so one never given back is still collected. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(private readonly maxIdleBytes = IDLE_PAYLOAD_BYTES) {}

  /** A buffer of at least `bytes` (its capacity the next power of two), idle or new. */
  take(bytes: number): Uint8Array {
    const capacity = capacityFor(bytes);
    const buffer = this.idle.get(capacity)?.pop();
    if (buffer) this.idleBytes -= capacity;
    const taken = buffer ?? new ArrayBuffer(capacity);
    this.lent.add(taken);
    return new Uint8Array(taken);
  }

  /**
   * Gives back the buffer under `view`, if this pool lent it and it is still out: true when it
   * will be reused. Any view of that buffer may then see other bytes.
   */
  release(view: ArrayBufferView): boolean {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.lent.delete(buffer)) return false;
    if (this.idleBytes + buffer.byteLength > this.maxIdleBytes) return false;
    let sized = this.idle.get(buffer.byteLength);
    if (!sized) this.idle.set(buffer.byteLength, (sized = []));
    sized.push(buffer);
    this.idleBytes += buffer.byteLength;
    return true;
  }

  /** Bytes of idle buffers held. */
  get idleByteCount(): number {
    return this.idleBytes;
  }
}

function capacityFor(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`a payload buffer must be a size in bytes, got ${bytes}`);
  return 2 ** Math.ceil(Math.log2(Math.max(bytes, 1)));
}

/** The process's pool: nats.js's parser is patched once per process, and lends from it. */
export const payloadBuffers = new PayloadBufferPool();

/**
 * Gives back the buffer of a message's bytes (or of any view into them, such as a msgpack bin
 * field viewed in place) once nothing reads them any more; a view of any other memory is ignored.
 */
export function releasePayload(view: ArrayBufferView): boolean {
  return payloadBuffers.release(view);
}
