import { useState } from 'react';
import type { RunSummary } from '@featx/contracts';
import { usePagedApi } from '../api/use-paged-api';
import { DataTable, ErrorMessage, MorePages, Page, StatusBadge, formatTime, shortId } from './common';

/** Every run, oldest first as GET /runs pages them (100 a page, more on demand); two or more chosen open side by side. */
export function RunsPage() {
  const runs = usePagedApi<RunSummary>('/runs');
  const [chosen, setChosen] = useState<string[]>([]);
  const rows = runs.items;
  const toggle = (id: string) => setChosen((ids) => (ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]));
  return (
    <Page
      title="Runs"
      actions={
        <span className="actions">
          <a className={chosen.length < 2 ? 'button disabled' : 'button'} aria-disabled={chosen.length < 2} href={chosen.length < 2 ? undefined : `#/compare/${chosen.join(',')}`}>
            Compare {chosen.length > 0 ? chosen.length : ''} runs
          </a>
          <button onClick={runs.reload}>Refresh</button>
        </span>
      }
    >
      <ErrorMessage error={runs.error} />
      {runs.loaded && rows.length === 0 && <p>No runs yet: train one from a complete feature set's page.</p>}
      {rows.length > 0 && (
        <DataTable columns={['Compare', 'Run', 'Status', 'Head', 'Epochs', 'Best val. loss', 'Feature set', 'Started']}>
          {rows.map((run) => (
            <tr key={run.id}>
              <td>
                <input type="checkbox" aria-label={`compare run ${shortId(run.id)}`} checked={chosen.includes(run.id)} onChange={() => toggle(run.id)} />
              </td>
              <td>
                <a href={`#/runs/${run.id}`}>{shortId(run.id)}</a>
              </td>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>{String(run.config.head ?? '–')}</td>
              <td>
                {run.epochsDone} / {run.epochs}
              </td>
              <td>{run.bestValLoss === null ? '–' : run.bestValLoss.toFixed(4)}</td>
              <td>
                <a href={`#/feature-sets/${run.featureSetId}`}>{shortId(run.featureSetId)}</a>
              </td>
              <td>{formatTime(run.startedAt)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <MorePages pages={runs} what="runs" />
    </Page>
  );
}
