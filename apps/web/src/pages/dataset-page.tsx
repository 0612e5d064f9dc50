import { useState } from 'react';
import type { DatasetDetails } from '@featx/contracts';
import { postJson } from '../api/client';
import { useApi } from '../api/use-api';
import { ENGINES, FEATURE_DTYPES, POOLINGS, PRECISIONS } from '../options';
import { ErrorMessage, formatTime, Page, StatusBadge } from './common';
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
          <ExtractForm datasetId={datasetId} />
        </>
      )}
    </Page>
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
