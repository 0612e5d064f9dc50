import { useEffect, useState } from 'react';
import { followEvents } from './event-stream';

export interface ProgressEvent {
  featureSetId: string;
  images: number;
  stored: number;
  failed: number;
  status: 'running' | 'complete' | 'failed';
}

/**
 * The latest features.progress event of each feature set, pushed over SSE. `reload` runs when the
 * stream (re)opens, since what came before is in the API's GETs, and when a set stops running.
 */
export function useFeatureSetProgress(reload: () => void): Record<string, ProgressEvent> {
  const [live, setLive] = useState<Record<string, ProgressEvent>>({});
  useEffect(() => {
    const controller = new AbortController();
    void followEvents(
      '/events/feature-sets',
      (event) => {
        if (event.type !== 'features.progress') return;
        const progress = event.data as ProgressEvent;
        setLive((previous) => ({ ...previous, [progress.featureSetId]: progress }));
        if (progress.status !== 'running') reload();
      },
      controller.signal,
      reload,
    );
    return () => controller.abort();
  }, [reload]);
  return live;
}

/** done/total and percent of a set: the live event's counts when there is one, else the GET's. */
export function progressOf(set: { images: number; progress: { done: number; percent: number }; status: string }, live?: ProgressEvent) {
  const total = live?.images ?? set.images;
  const done = live ? live.stored + live.failed : set.progress.done;
  const percent = total > 0 ? Math.min(100, Math.round((1000 * done) / total) / 10) : set.progress.percent;
  return { done, total, percent, status: live?.status ?? set.status };
}
