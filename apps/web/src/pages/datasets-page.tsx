import { useState } from 'react';
import type { DatasetSummary } from '@featx/contracts';
import { postJson } from '../api/client';
import { waitForCommand } from '../api/commands';
import { usePagedApi } from '../api/use-paged-api';
import { DATASET_LAYOUTS } from '../options';
import { DataTable, ErrorMessage, MorePages, Page, StatusBadge, formatTime } from './common';
import { Choice, Field, Form, SubmissionStatus, useSubmission } from './forms';

/** The registered datasets, and a form to register one (or re-scan it: the same path again). */
export function DatasetsPage() {
  const datasets = usePagedApi<DatasetSummary>('/datasets');
  const rows = datasets.items;
  return (
    <Page title="Datasets" actions={<button onClick={datasets.reload}>Refresh</button>}>
      <AddDatasetForm onAdded={datasets.reload} />
      <ErrorMessage error={datasets.error} />
      {datasets.loaded && rows.length === 0 && <p>No datasets yet.</p>}
      {rows.length > 0 && (
        <DataTable columns={['Name', 'Location', 'Layout', 'Classes', 'Images', 'Status', 'Scanned']}>
          {rows.map((dataset) => (
            <tr key={dataset.id}>
              <td>
                <a href={`#/datasets/${dataset.id}`}>{dataset.name}</a>
              </td>
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
        </DataTable>
      )}
      <MorePages pages={datasets} what="datasets" />
    </Page>
  );
}

function AddDatasetForm({ onAdded }: { onAdded(): void }) {
  const [folder, setFolder] = useState('');
  const [name, setName] = useState('');
  const [layout, setLayout] = useState<(typeof DATASET_LAYOUTS)[number]>('auto');
  const submission = useSubmission();
  const submit = () =>
    submission.run(async () => {
      const queued = await postJson<{ commandId: string }>('/datasets', { path: folder.trim(), layout, ...(name.trim() ? { name: name.trim() } : {}) });
      const outcome = await waitForCommand(queued.commandId);
      onAdded();
      if (outcome.status !== 'succeeded') throw new Error(`Registering ${folder} ${outcome.status}: ${outcome.error ?? 'no reason given'}`);
      const r = outcome.result ?? {};
      return `Registered ${folder}: ${r.images} images (${r.added} added, ${r.changed} changed, ${r.removed} removed since the last scan).`;
    });
  return (
    <Form label="Add a dataset" onSubmit={() => void submit()}>
      <Field label="Folder" hint="under a data root: absolute, or relative to the first root">
        {(id) => <input id={id} value={folder} onChange={(event) => setFolder(event.target.value)} required />}
      </Field>
      <Field label="Name (optional)">{(id) => <input id={id} value={name} onChange={(event) => setName(event.target.value)} />}</Field>
      <Choice label="Layout" value={layout} options={DATASET_LAYOUTS} onChange={setLayout} />
      <button type="submit" disabled={submission.busy || folder.trim() === ''}>
        {submission.busy ? 'Registering…' : 'Add dataset'}
      </button>
      <SubmissionStatus error={submission.error} done={submission.done} />
    </Form>
  );
}
