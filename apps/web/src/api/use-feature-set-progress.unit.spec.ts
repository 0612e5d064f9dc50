import { progressOf, RATE_WINDOW_MS, rateOf, withEvent, type ProgressEvent } from './use-feature-set-progress';

const event = (stored: number, failed = 0, status: ProgressEvent['status'] = 'running'): ProgressEvent => ({ featureSetId: 'set', images: 1000, stored, failed, status });
const asRead = { images: 1000, status: 'running', progress: { done: 100, percent: 10, imagesPerSecond: 3, etaSeconds: 300 } };

describe('feature-set progress from pushed events', () => {
  it('has no rate from one event, and keeps the last read rate and ETA meanwhile', () => {
    const live = withEvent(undefined, event(100), 0);
    expect(rateOf(live)).toEqual({ imagesPerSecond: null, etaSeconds: null });
    expect(progressOf(asRead, live)).toMatchObject({ done: 100, percent: 10, imagesPerSecond: 3, etaSeconds: 300, pushedRate: false });
  });

  it('takes images/s and the ETA from the events, failures counted as done', () => {
    let live = withEvent(undefined, event(100), 0);
    live = withEvent(live, event(140, 10), 5000); // 50 images in 5 s
    expect(rateOf(live)).toEqual({ imagesPerSecond: 10, etaSeconds: 85 });
    expect(progressOf(asRead, live)).toMatchObject({ done: 150, percent: 15, imagesPerSecond: 10, etaSeconds: 85, pushedRate: true });
  });

  it('follows a change of speed: events older than the window are dropped, one kept as its start', () => {
    let live = withEvent(undefined, event(0), 0);
    live = withEvent(live, event(1000 - 900), 10000);
    for (let t = 11000; t <= 10000 + RATE_WINDOW_MS + 5000; t += 1000) live = withEvent(live, event(100 + (t - 10000) / 1000), t);
    expect(live.samples[0].at).toBeGreaterThanOrEqual(25000 - RATE_WINDOW_MS - 1000);
    expect(rateOf(live).imagesPerSecond).toBeCloseTo(1, 5);
  });

  it('has no ETA once the set is no longer running', () => {
    let live = withEvent(undefined, event(900), 0);
    live = withEvent(live, event(1000, 0, 'complete'), 1000);
    expect(progressOf(asRead, live)).toMatchObject({ done: 1000, percent: 100, status: 'complete', etaSeconds: null });
  });
});
