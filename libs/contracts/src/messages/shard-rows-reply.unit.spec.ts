import { decodeMessage, encodeMessage } from '../codec';
import { parseMessage } from '../contract';
import { readShardReply, shardRowsReply } from './runs';

/** The bytes as a reader's bus hands them over: the message at the start of its own buffer. */
function received(message: unknown): Uint8Array {
  const wire = encodeMessage(message);
  const buffer = new Uint8Array(wire.byteLength);
  buffer.set(wire);
  return buffer;
}

/** `count` values of a shard row's type with distinct bytes. */
function values(dtype: 'float16' | 'float32', count: number): Uint16Array | Float32Array {
  return dtype === 'float16' ? Uint16Array.from({ length: count }, (_, i) => i * 7) : Float32Array.from({ length: count }, (_, i) => i / 3);
}

describe('shardRowsReply', () => {
  const rows = { start: 40, rows: 2, dim: 3, labels: [1, 0], imageIds: [7, 2 ** 40] };

  it.each([
    [2, 'float16'],
    [2, 'float32'],
    [1, 'float32'],
  ] as const)('v%s %s: 64 KiB or more of features start 20 bytes in, decoded in place, aligned for their values', (v, dtype) => {
    const sent = values(dtype, 40000);
    const message = received(shardRowsReply(v, dtype, new Uint8Array(sent.buffer), rows));
    const reply = parseMessage(readShardReply, decodeMessage(message));
    expect(reply).toMatchObject({ v, ...rows, ...(v === 2 ? { dtype } : {}) });
    expect(reply.features.buffer).toBe(message.buffer);
    expect(reply.features.byteOffset).toBe(20);
    const view = dtype === 'float16' ? new Uint16Array(message.buffer, 20, sent.length) : new Float32Array(message.buffer, 20, sent.length);
    expect(view).toEqual(sent);
  });

  it('sends the features as standard msgpack bin, not an extension type', () => {
    const message = received(shardRowsReply(2, 'float16', new Uint8Array(70000).fill(9), rows));
    // map16 of 8 fields, "v", 2, "features", then bin 32 (0xc6) and its big-endian length.
    expect(message[15]).toBe(0xc6);
    expect(new DataView(message.buffer).getUint32(16)).toBe(70000);
  });

  it('keeps small replies whole (their bytes may be misaligned: readers copy those)', () => {
    const sent = values('float32', 6);
    const reply = parseMessage(readShardReply, decodeMessage(received(shardRowsReply(2, 'float32', new Uint8Array(sent.buffer), rows))));
    expect(new Float32Array(Uint8Array.prototype.slice.call(reply.features).buffer)).toEqual(sent);
  });
});
