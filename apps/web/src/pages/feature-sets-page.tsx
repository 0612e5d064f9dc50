import { useEffect, useState } from 'react';
import type { FeatureSetSummary } from '@featx/contracts';
import { followEvents } from '../api/event-stream';
import { useApi } from '../api/use-api';
import { ErrorMessage, formatSeconds, Page, shortId, StatusBadge } from './common';

interface ProgressEvent {
  featureSetId: string;
  images: number;
  stored: number;
  failed: number;
  status: FeatureSetSummary['status'];
}

/**
 * Feature sets with their progress, pushed: each features.progress event from the bus (over SSE)
 * updates its set's counts; rates and ETA are the API's as of the last GET, read again when a set
 * finishes or an unknown set shows up.
 */
export function FeatureSetsPage() {
  const sets = useApi<FeatureSetSummary[]>('/feature-sets');
  const [live, setLive] = useState<Record<string, ProgressEvent>>({});
  const { reload } = sets;
  const known = new Set((sets.data ?? []).map((s) => s.id));

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

  useEffect(() => {
    if (Object.keys(live).some((id) => !known.has(id)) && !sets.loading) reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live]);

  const rows = [...(sets.data ?? [])].reverse();
  return (
    <Page title="Feature sets" actions={<button onClick={reload}>Refresh</button>}>
      <ErrorMessage error={sets.error} />
      {sets.data && rows.length === 0 && <p>No feature sets yet: extract one with `featx extract &lt;dataset&gt;`.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Set</th>
                <th scope="col">Model / layer</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Images/s</th>
                <th scope="col">ETA</th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((set) => {
                const now = live[set.id];
                const total = now?.images ?? set.images;
                const done = now ? now.stored + now.failed : set.progress.done;
                const percent = total > 0 ? Math.min(100, (100 * done) / total) : set.progress.percent;
                const status = now?.status ?? set.status;
                return (
                  <tr key={set.id} data-testid={`feature-set-${set.id}`}>
                    <td>{shortId(set.id)}</td>
                    <td>
                      {set.model} / {set.layer} ({set.pooling}, {set.dtype})
                    </td>
                    <td>
                      <StatusBadge status={status} />
                    </td>
                    <td>
                      <progress max={100} value={percent} aria-label={`feature set ${shortId(set.id)} progress`} /> {done} / {total} ({percent.toFixed(1)}%)
                    </td>
                    <td>{set.progress.imagesPerSecond}</td>
                    <td>{status === 'running' ? formatSeconds(set.progress.etaSeconds) : '–'}</td>
                    <td>{now?.failed ?? set.failed}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
