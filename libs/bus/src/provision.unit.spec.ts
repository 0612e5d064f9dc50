import { JetStreamApiError } from '@nats-io/jetstream';
import { TimeoutError } from '@nats-io/nats-core';
import { isClusterSettling, whileClusterSettles } from './provision';

const apiError = (code: number, description: string) => new JetStreamApiError({ code: 503, err_code: code, description });

describe('whileClusterSettles', () => {
  it('retries what a settling cluster answers until it succeeds', async () => {
    const answers = [new TimeoutError(), apiError(10008, 'JetStream system temporarily unavailable'), apiError(10005, 'no suitable peers for placement')];
    let calls = 0;
    const result = await whileClusterSettles('test', { timeoutMs: 10000 }, async () => {
      calls += 1;
      const next = answers.shift();
      if (next) throw next;
      return 'created';
    });
    expect(result).toBe('created');
    expect(calls).toBe(4);
  });

  it('gives up at its bound, naming what it did and the last answer', async () => {
    const started = Date.now();
    await expect(
      whileClusterSettles('provisioning stream X', { timeoutMs: 1000 }, async () => {
        throw apiError(10008, 'JetStream system temporarily unavailable');
      }),
    ).rejects.toThrow(/provisioning stream X: the JetStream cluster did not settle within 1000 ms \(\d+ attempts; last: JetStream system temporarily unavailable\)/);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      whileClusterSettles('test', { timeoutMs: 10000 }, async () => {
        calls += 1;
        throw apiError(10052, 'stream configuration is invalid');
      }),
    ).rejects.toThrow('stream configuration is invalid');
    expect(calls).toBe(1);
    expect(isClusterSettling(new Error('bad input'))).toBe(false);
  });
});
