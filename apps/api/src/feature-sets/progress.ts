import type { FeatureSetRow } from '@featx/db';
import type { FeatureSetProgress } from '@featx/contracts';

/**
 * Progress of a feature set at `now`. The rate counts only this run's work (what was done before
 * the set was last started is `doneAtStart`), so a resumed set does not report a burst of speed.
 */
export function featureSetProgress(
  set: Pick<FeatureSetRow, 'images' | 'stored' | 'failed' | 'doneAtStart' | 'status' | 'startedAt' | 'finishedAt'>,
  now: Date = new Date(),
): FeatureSetProgress {
  const done = set.stored + set.failed;
  const total = set.images;
  const percent = total > 0 ? Math.min(100, Math.round((done / total) * 1000) / 10) : set.status === 'complete' ? 100 : 0;
  const end = set.finishedAt ?? now;
  const elapsedSeconds = Math.max(0, (end.getTime() - set.startedAt.getTime()) / 1000);
  const doneThisRun = Math.max(0, done - set.doneAtStart);
  const rate = elapsedSeconds > 0 ? doneThisRun / elapsedSeconds : 0;
  const remaining = Math.max(0, total - done);
  const etaSeconds = set.status === 'running' && rate > 0 ? Math.ceil(remaining / rate) : null;
  return {
    done,
    total,
    percent,
    imagesPerSecond: Math.round(rate * 100) / 100,
    elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
    etaSeconds,
  };
}
