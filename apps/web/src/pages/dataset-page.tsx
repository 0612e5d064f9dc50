import { useState } from 'react';
import type { DatasetDetails, DatasetImage } from '@featx/contracts';
import { postJson } from '../api/client';
import { useApi } from '../api/use-api';
import { usePagedApi } from '../api/use-paged-api';
import { ENGINES, FEATURE_DTYPES, POOLINGS, PRECISIONS } from '../options';
import { DataTable, ErrorMessage, formatTime, MorePages, Page, StatusBadge } from './common';
import { Choice, Field, Form, SubmissionStatus, useSubmission } from './forms';

const SPLITS = ['training', 'validation', 'evaluation', 'unassigned'];

/** One dataset: its images per split and class, and the form that extracts its features. */
export function DatasetPage({ datasetId }: { datasetId: string }) {
  const dataset = useApi<DatasetDetails>(`/datasets/${datasetId}`);
  const data = dataset.data;
  const splits = data ? SPLITS.filter((split) => data.counts.bySplit[split] !== undefined) : [];
  return (
    <Page title={data ? `Dataset ${data.name}` : 'Dataset'}>
      <ErrorMessage error={dataset.error} />
      {data && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={data.status} /> {data.error}
            </dd>
            <dt>Location</dt>
            <dd>
              {data.root}:{data.path}
            </dd>
            <dt>Layout</dt>
            <dd>{data.layout}</dd>
            <dt>Images</dt>
            <dd>{data.imageCount}</dd>
            <dt>Scanned</dt>
            <dd>{formatTime(data.scannedAt)}</dd>
          </dl>
          <h2>Images per split and class</h2>
          <div className="table-scroll">
            <table data-testid="split-class-counts">
              <thead>
                <tr>
                  <th scope="col">Class</th>
                  {splits.map((split) => (
                    <th key={split} scope="col">
                      {split}
                    </th>
                  ))}
                  <th scope="col">all</th>
                </tr>
              </thead>
              <tbody>
                {data.classes.map((label) => (
                  <tr key={label}>
                    <th scope="row">{label}</th>
                    {splits.map((split) => (
                      <td key={split}>{data.counts.bySplitAndClass[split]?.[label] ?? 0}</td>
                    ))}
                    <td>{data.counts.byClass[label] ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <FilesWithStatus datasetId={datasetId} status="missing" title="Missing files" none="No file has gone missing since it was registered." />
          <FilesWithStatus datasetId={datasetId} status="failed" title="Unreadable files" none="Every file could be read when the dataset was scanned." />
          <FilesWithStatus datasetId={datasetId} status="changed" title="Changed files" none="No re-scan has found a file's content, class or split changed." />
          <ExtractForm datasetId={datasetId} />
        </>
      )}
    </Page>
  );
}

/**
 * The dataset's files in one status, a page at a time: missing (gone at the last scan; a re-scan
 * that finds them again makes them present), failed (unreadable when scanned) or changed (a
 * re-scan found their content, class or split different; they stay present, re-hashed).
 */
function FilesWithStatus({ datasetId, status, title, none }: { datasetId: string; status: 'missing' | 'failed' | 'changed'; title: string; none: string }) {
  const files = usePagedApi<DatasetImage>(`/datasets/${datasetId}/images?status=${status}`);
  return (
    <>
      <h2>{title}</h2>
      <ErrorMessage error={files.error} />
      {files.loaded && files.items.length === 0 && <p>{none}</p>}
      {files.items.length > 0 && (
        <DataTable columns={['File', 'Split', 'Class', 'Since', ...(status === 'failed' ? ['Reason'] : [])]} testId={`${status}-files`}>
          {files.items.map((file) => (
            <tr key={file.id}>
              <td>{file.path}</td>
              <td>{file.split ?? 'unassigned'}</td>
              <td>{file.label}</td>
              <td>{formatTime(status === 'changed' ? (file.changedAt ?? file.updatedAt) : file.updatedAt)}</td>
              {status === 'failed' && <td className="reason">{file.error}</td>}
            </tr>
          ))}
        </DataTable>
      )}
      <MorePages pages={files} what={title.toLowerCase()} />
    </>
  );
}

function ExtractForm({ datasetId }: { datasetId: string }) {
  const [model, setModel] = useState('');
  const [layer, setLayer] = useState('');
  const [pooling, setPooling] = useState<(typeof POOLINGS)[number]>('avg');
  const [dtype, setDtype] = useState<(typeof FEATURE_DTYPES)[number]>('float32');
  const [engine, setEngine] = useState<(typeof ENGINES)[number]>('auto');
  const [precision, setPrecision] = useState<(typeof PRECISIONS)[number]>('fp32');
  const submission = useSubmission();
  const submit = () =>
    submission.run(async () => {
      await postJson('/feature-sets', { datasetId, model: model.trim(), pooling, dtype, engine, precision, ...(layer.trim() ? { layer: layer.trim() } : {}) });
      window.location.hash = '#/feature-sets';
      return 'Extraction queued.';
    });
  return (
    <Form label="Extract features" onSubmit={() => void submit()}>
      <h2>Extract features</h2>
      <Field label="Model" hint="resnet50, or a TF.js / ONNX model under a data root">
        {(id) => <input id={id} value={model} onChange={(event) => setModel(event.target.value)} required />}
      </Field>
      <Field label="Layer (optional)">{(id) => <input id={id} value={layer} onChange={(event) => setLayer(event.target.value)} />}</Field>
      <Choice label="Pooling" value={pooling} options={POOLINGS} onChange={setPooling} />
      <Choice label="Data type" value={dtype} options={FEATURE_DTYPES} onChange={setDtype} />
      <Choice label="Engine" value={engine} options={ENGINES} onChange={setEngine} />
      <Choice label="Precision" value={precision} options={PRECISIONS} onChange={setPrecision} />
      <button type="submit" disabled={submission.busy || model.trim() === ''}>
        {submission.busy ? 'Queueing…' : 'Extract'}
      </button>
      <SubmissionStatus error={submission.error} done={submission.done} />
    </Form>
  );
}
