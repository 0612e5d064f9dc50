import { useEffect, useState } from 'react';
import { followEvents } from './event-stream';

export interface ProgressEvent {
  featureSetId: string;
  images: number;
  stored: number;
  failed: number;
  status: 'running' | 'complete' | 'failed';
}

/** When an event came (this browser's clock) and the images done by then. */
export interface ProgressSample {
  at: number;
  done: number;
}

/** A set's latest pushed progress, with the rate its recent events show. */
export interface LiveProgress {
  event: ProgressEvent;
  /** The events of about the last RATE_WINDOW_MS, oldest first (one older kept as the window's start). */
  samples: ProgressSample[];
}

/** The rate is taken over this much of the latest events: recent enough to follow a change of speed, long enough to smooth batches. */
export const RATE_WINDOW_MS = 20000;

/** A set's live progress once `event` arrives at `now`. */
export function withEvent(previous: LiveProgress | undefined, event: ProgressEvent, now: number): LiveProgress {
  const samples = [...(previous?.samples ?? []), { at: now, done: event.stored + event.failed }];
  while (samples.length > 2 && samples[1].at <= now - RATE_WINDOW_MS) samples.shift();
  return { event, samples };
}

/** Images per second and seconds left from the pushed events; null until two events a moment apart have come, or when not running. */
export function rateOf(live: LiveProgress): { imagesPerSecond: number | null; etaSeconds: number | null } {
  const first = live.samples[0];
  const last = live.samples[live.samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  if (live.event.status !== 'running' || seconds <= 0) return { imagesPerSecond: null, etaSeconds: null };
  const imagesPerSecond = Math.max(0, last.done - first.done) / seconds;
  const left = Math.max(0, live.event.images - last.done);
  return { imagesPerSecond, etaSeconds: imagesPerSecond > 0 ? Math.ceil(left / imagesPerSecond) : null };
}

/**
 * The pushed progress of each feature set: every features.progress event over SSE. `reload` runs
 * when the stream (re)opens, since what came before is in the API's GETs, and when a set stops running.
 */
export function useFeatureSetProgress(reload: () => void): Record<string, LiveProgress> {
  const [live, setLive] = useState<Record<string, LiveProgress>>({});
  useEffect(() => {
    const controller = new AbortController();
    void followEvents(
      '/events/feature-sets',
      (event) => {
        if (event.type !== 'features.progress') return;
        const progress = event.data as ProgressEvent;
        const now = Date.now();
        setLive((previous) => ({ ...previous, [progress.featureSetId]: withEvent(previous[progress.featureSetId], progress, now) }));
        if (progress.status !== 'running') reload();
      },
      controller.signal,
      reload,
    );
    return () => controller.abort();
  }, [reload]);
  return live;
}

interface SetAsRead {
  images: number;
  status: string;
  progress: { done: number; percent: number; imagesPerSecond: number; etaSeconds: number | null };
}

/**
 * done/total, percent, rate and ETA of a set: from its pushed events when there are any (the rate
 * once two have come), else as the API's GET had them.
 */
export function progressOf(set: SetAsRead, live?: LiveProgress) {
  const event = live?.event;
  const total = event?.images ?? set.images;
  const done = event ? event.stored + event.failed : set.progress.done;
  const percent = total > 0 ? Math.min(100, Math.round((1000 * done) / total) / 10) : set.progress.percent;
  const status = event?.status ?? set.status;
  const pushed = live ? rateOf(live) : { imagesPerSecond: null, etaSeconds: null };
  const imagesPerSecond = pushed.imagesPerSecond ?? set.progress.imagesPerSecond;
  const etaSeconds = status !== 'running' ? null : pushed.imagesPerSecond !== null ? pushed.etaSeconds : set.progress.etaSeconds;
  return { done, total, percent, status, imagesPerSecond: Math.round(imagesPerSecond * 10) / 10, etaSeconds, pushedRate: pushed.imagesPerSecond !== null };
}
