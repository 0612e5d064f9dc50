import type { DatasetSummary } from '@featx/contracts';
import { useApi } from '../api/use-api';
import { ErrorMessage, formatTime, Page, StatusBadge } from './common';

/** The registered datasets. */
export function DatasetsPage() {
  const datasets = useApi<DatasetSummary[]>('/datasets');
  const rows = datasets.data ?? [];
  return (
    <Page title="Datasets" actions={<button onClick={datasets.reload}>Refresh</button>}>
      <ErrorMessage error={datasets.error} />
      {datasets.data && rows.length === 0 && <p>No datasets yet: register one with `featx datasets add register one with `featx datasets add &lt;root&gt;:&lt;path&gt;`lt;pathregister one with `featx datasets add &lt;root&gt;:&lt;path&gt;`gt;`.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Location</th>
                <th scope="col">Layout</th>
                <th scope="col">Classes</th>
                <th scope="col">Images</th>
                <th scope="col">Status</th>
                <th scope="col">Scanned</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((dataset) => (
                <tr key={dataset.id}>
                  <td>{dataset.name}</td>
                  <td>
                    {dataset.root}:{dataset.path}
                  </td>
                  <td>{dataset.layout}</td>
                  <td>{dataset.classes.join(', ')}</td>
                  <td>{dataset.imageCount}</td>
                  <td>
                    <StatusBadge status={dataset.status} />
                    {dataset.error && <span className="error"> {dataset.error}</span>}
                  </td>
                  <td>{formatTime(dataset.scannedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
