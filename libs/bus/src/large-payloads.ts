/**
 * nats.js (3.4) gathers a message that spans several socket reads (every message over ~64 KiB)
 * in a buffer that starts at the first read's size and doubles as reads arrive: a 1 MiB shard
 * reply cost ~3.4 MB of allocations and ~1.5 MB of copies before it was whole, which made
 * garbage collection the largest cost of reading features over the bus. The parser knows the
 * message's size from its MSG line; `presizeLargePayloads` makes it reserve that size once, at
 * the second read, so every later read is copied straight into place. From 256 KiB the reserved
 * buffer is lent by `payloadBuffers`, which a reader done with the bytes gives back
 * (`releasePayload`): then the next message reuses it instead of allocating.
 *
 * Measured (1 MiB replies, 16 in flight, client alone): 1.55-1.73 → 1.21-1.35 CPU s per GB
 * received; lent buffers given back by the trainer's stream (`bench:read`, 8 MiB in flight, Zen 5):
 * the reader's 3.98-4.02 → 3.05-3.29 CPU s per GB. Only where the message is assembled changes, not
 * what is delivered.
 */
import { LENT_PAYLOAD_MIN_BYTES, payloadBuffers } from './payload-buffers';

/** What the parser uses of the payload it gathers (nats-core's `DenoBuffer`). */
interface GatheredPayload {
  readonly capacity: number;
  readonly length: number;
  grow(bytes: number): void;
  write(bytes: Uint8Array): number;
  writeByte(byte: number): void;
  bytes(options?: { copy: boolean }): Uint8Array;
}

/** The parser's state between socket reads (nats-core's `Parser`, exported from its `internal` entry). */
interface ParserState {
  /** The message being read: `size` is its payload's length from the MSG line. */
  ma?: { size: number };
  /** Its payload so far, once it spans reads. */
  msgBuf?: GatheredPayload;
}

interface ParserClass {
  prototype: ParserState & { parse(buffer: Uint8Array): void; featxPresized?: true };
}

let presized = false;

/** Patches nats-core's parser once per process; a nats-core without the shape it expects is left as it is. */
export function presizeLargePayloads(): boolean {
  if (presized) return true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Parser } = require('@nats-io/nats-core/internal') as { Parser?: ParserClass };
  const parse = Parser?.prototype.parse;
  if (typeof parse !== 'function') return false;
  if (Parser!.prototype.featxPresized) return (presized = true);
  Parser!.prototype.parse = function parsePresized(this: ParserState, buffer: Uint8Array): void {
    const payload = this.msgBuf;
    const size = this.ma?.size ?? 0;
    if (payload && typeof payload.grow === 'function' && payload.capacity < size) {
      if (size >= LENT_PAYLOAD_MIN_BYTES && typeof payload.bytes === 'function') this.msgBuf = new LentPayload(payloadBuffers.take(size), payload.bytes({ copy: false }));
      else payload.grow(size - payload.length);
    }
    return parse.call(this, buffer);
  };
  Parser!.prototype.featxPresized = true;
  return (presized = true);
}

/** A payload gathered in a lent buffer reserved for its whole size: what the parser delivers is a view of it from offset 0. */
class LentPayload implements GatheredPayload {
  private written: number;

  constructor(
    private readonly buffer: Uint8Array,
    start: Uint8Array,
  ) {
    buffer.set(start);
    this.written = start.length;
  }

  get capacity(): number {
    return this.buffer.byteLength;
  }

  get length(): number {
    return this.written;
  }

  grow(bytes: number): void {
    if (this.written + bytes > this.buffer.byteLength) throw new RangeError(`a lent payload buffer of ${this.buffer.byteLength} bytes cannot grow to ${this.written + bytes}`);
  }

  write(bytes: Uint8Array): number {
    this.grow(bytes.length);
    this.buffer.set(bytes, this.written);
    this.written += bytes.length;
    return bytes.length;
  }

  writeByte(byte: number): void {
    this.grow(1);
    this.buffer[this.written++] = byte;
  }

  bytes(options: { copy: boolean } = { copy: true }): Uint8Array {
    const bytes = this.buffer.subarray(0, this.written);
    return options.copy ? bytes.slice() : bytes;
  }
}
