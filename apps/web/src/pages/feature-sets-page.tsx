import { useEffect } from 'react';
import type { FeatureSetSummary } from '@featx/contracts';
import { progressOf, useFeatureSetProgress } from '../api/use-feature-set-progress';
import { usePagedApi } from '../api/use-paged-api';
import { DataTable, ErrorMessage, MorePages, Page, StatusBadge, formatSeconds, shortId } from './common';

/**
 * Feature sets with their progress, pushed: each features.progress event from the bus (over SSE)
 * updates its set's counts, and the events of the last seconds its images/s and ETA (the API's as
 * of the last GET until two events have come). The list is read again when a set finishes or an
 * unknown set shows up.
 */
export function FeatureSetsPage() {
  const sets = usePagedApi<FeatureSetSummary>('/feature-sets');
  const live = useFeatureSetProgress(sets.reload);
  // A set not on the pages loaded: a new one, at the list's end (oldest first), shown by a reload
  // when every page is loaded; otherwise it is on a page still to load.
  const unknown = !sets.hasMore && Object.keys(live).some((id) => !sets.items.some((set) => set.id === id));
  useEffect(() => {
    if (unknown && !sets.loading) sets.reload();
  }, [unknown, sets.loading, sets.reload]);

  const rows = sets.items;
  return (
    <Page title="Feature sets" actions={<button onClick={sets.reload}>Refresh</button>}>
      <ErrorMessage error={sets.error} />
      {sets.loaded && rows.length === 0 && <p>No feature sets yet: extract one from a dataset's page.</p>}
      {rows.length > 0 && (
        <DataTable columns={['Set', 'Model / layer', 'Status', 'Progress', 'Images/s', 'ETA', 'Failed']}>
          {rows.map((set) => {
            const now = live[set.id];
            const { done, total, percent, status, imagesPerSecond, etaSeconds } = progressOf(set, now);
            return (
              <tr key={set.id} data-testid={`feature-set-${set.id}`}>
                <td>
                  <a href={`#/feature-sets/${set.id}`}>{shortId(set.id)}</a>
                </td>
                <td>
                  {set.model.split('/').pop()} / {set.layer} ({set.pooling}, {set.dtype})
                </td>
                <td>
                  <StatusBadge status={status} />
                </td>
                <td data-testid="progress">
                  <progress max={100} value={percent} aria-label={`feature set ${shortId(set.id)} progress`} /> {done} / {total} ({percent}%)
                </td>
                <td data-testid="rate">{imagesPerSecond}</td>
                <td>{formatSeconds(etaSeconds)}</td>
                <td>{now?.event.failed ?? set.failed}</td>
              </tr>
            );
          })}
        </DataTable>
      )}
      <MorePages pages={sets} what="feature sets" />
    </Page>
  );
}
