import { PayloadBufferPool } from './payload-buffers';

describe('PayloadBufferPool', () => {
  it('lends a buffer of at least the size asked, its capacity the next power of two', () => {
    const pool = new PayloadBufferPool();
    expect(pool.take(1_003_540).byteLength).toBe(1 << 20);
    expect(pool.take(1 << 20).byteLength).toBe(1 << 20);
    expect(pool.take(300_001).byteLength).toBe(512 * 1024);
    expect(() => pool.take(-1)).toThrow('a payload buffer must be a size in bytes, got -1');
  });

  it('reuses a buffer given back through any view of it, once', () => {
    const pool = new PayloadBufferPool();
    const lent = pool.take(1_000_000);
    expect(pool.release(new Uint16Array(lent.buffer, 20, 100))).toBe(true);
    expect(pool.idleByteCount).toBe(1 << 20);
    // Given back twice: the second is ignored, so it is never lent to two readers.
    expect(pool.release(lent)).toBe(false);
    const again = pool.take(900_000);
    expect(again.buffer).toBe(lent.buffer);
    expect(pool.idleByteCount).toBe(0);
    expect(pool.take(900_000).buffer).not.toBe(lent.buffer);
  });

  it('ignores memory it did not lend, and keeps no more idle bytes than its bound', () => {
    const pool = new PayloadBufferPool(2 << 20);
    expect(pool.release(new Uint8Array(1 << 20))).toBe(false);
    const lent = [pool.take(1 << 20), pool.take(1 << 20), pool.take(1 << 20)];
    expect(lent.map((bytes) => pool.release(bytes))).toEqual([true, true, false]);
    expect(pool.idleByteCount).toBe(2 << 20);
  });
});
