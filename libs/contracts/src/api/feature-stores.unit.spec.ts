import { featureStoreState, MISSED_HEARTBEATS_DOWN } from './feature-stores';

describe('featureStoreState', () => {
  const now = new Date('2026-12-02T03:00:00Z');
  const seen = (msAgo: number, heartbeatMs = 5000) => ({ lastSeenAt: new Date(now.getTime() - msAgo), heartbeatMs });

  it(`is up until ${MISSED_HEARTBEATS_DOWN} heartbeats are missed, then down, by the store's own interval`, () => {
    expect(featureStoreState(seen(0), now)).toBe('up');
    expect(featureStoreState(seen(15_000), now)).toBe('up');
    expect(featureStoreState(seen(15_001), now)).toBe('down');
    expect(featureStoreState(seen(15_001, 60_000), now)).toBe('up');
    expect(featureStoreState(seen(3 * 60_000 + 1, 60_000), now)).toBe('down');
  });

  it('is unregistered for a writer that never recorded itself', () => {
    expect(featureStoreState(undefined, now)).toBe('unregistered');
    expect(featureStoreState({ lastSeenAt: null, heartbeatMs: null }, now)).toBe('unregistered');
  });
});
