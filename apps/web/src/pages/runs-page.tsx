import { useState } from 'react';
import type { RunSummary } from '@featx/contracts';
import { useApi } from '../api/use-api';
import { DataTable, ErrorMessage, Page, StatusBadge, formatTime, shortId } from './common';

/** Every run, newest first; two or more chosen open side by side. (GET /runs answers whole, oldest first.) */
export function RunsPage() {
  const runs = useApi<RunSummary[]>('/runs');
  const [chosen, setChosen] = useState<string[]>([]);
  const rows = [...(runs.data ?? [])].reverse();
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
      {runs.data && rows.length === 0 && <p>No runs yet: train one from a complete feature set's page.</p>}
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
    </Page>
  );
}
