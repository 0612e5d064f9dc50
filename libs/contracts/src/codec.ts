import { Packr } from 'msgpackr';

/**
 * msgpack on the wire; typed arrays (feature vectors) travel as raw bytes thanks to `moreTypes`
 * (msgpackr's typed-array extension, copied out on decode), Buffers as standard bin (viewed in
 * place on decode: `shardRowsReply`).
 * JSON is accepted on decode so that `nats pub featx.cmd... '{...}'` works from any shell.
 */
const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'number' });

const OPEN_BRACE = 0x7b;

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export function encodeMessage(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeMessage(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new DecodeError('empty message');
  // A bare msgpack positive integer 0x7b can never be a featx message, so '{' means JSON.
  if (bytes[0] === OPEN_BRACE) {
    try {
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (error) {
      throw new DecodeError(`not valid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new DecodeError(`not valid msgpack: ${(error as Error).message}`);
  }
}
