import type { RunSummary } from '@featx/contracts';
import { useApi } from '../api/use-api';
import { ErrorMessage, formatTime, Page, shortId, StatusBadge } from './common';

/** Every run, newest first. (GET /runs answers oldest first and whole; see README for pagination.) */
export function RunsPage() {
  const runs = useApi<RunSummary[]>('/runs');
  const rows = [...(runs.data ?? [])].reverse();
  return (
    <Page title="Runs" actions={<button onClick={runs.reload}>Refresh</button>}>
      <ErrorMessage error={runs.error} />
      {runs.data && rows.length === 0 && <p>No runs yet: train one with `featx train &lt;feature-set&gt;`.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Head</th>
                <th scope="col">Epochs</th>
                <th scope="col">Best val. loss</th>
                <th scope="col">Feature set</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((run) => (
                <tr key={run.id}>
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
                  <td>{shortId(run.featureSetId)}</td>
                  <td>{formatTime(run.startedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
