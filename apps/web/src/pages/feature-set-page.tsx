import { useCallback, useState } from 'react';
import type { FeatureFailure, FeatureSetDetails } from '@featx/contracts';
import { downloadFile, postJson } from '../api/client';
import { progressOf, useFeatureSetProgress } from '../api/use-feature-set-progress';
import { useApi } from '../api/use-api';
import { usePagedApi } from '../api/use-paged-api';
import { Thumbnail } from '../images/thumbnail';
import { HEADS } from '../options';
import { DataTable, ErrorMessage, MorePages, Page, StatusBadge, formatSeconds, formatTime, shortId } from './common';
import { Choice, Field, Form, SubmissionStatus, useSubmission } from './forms';

const SPLITS = ['training', 'validation', 'evaluation'] as const;

/** One feature set: live progress, the images that failed with their reasons, exports, and training a head on it. */
export function FeatureSetPage({ featureSetId }: { featureSetId: string }) {
  const set = useApi<FeatureSetDetails>(`/feature-sets/${featureSetId}`);
  const failures = usePagedApi<FeatureFailure>(`/feature-sets/${featureSetId}/failures`);
  const { reload: reloadSet } = set;
  const { reload: reloadFailures } = failures;
  // Stable, so that the event stream stays open across renders.
  const reload = useCallback(() => {
    reloadSet();
    reloadFailures();
  }, [reloadSet, reloadFailures]);
  const live = useFeatureSetProgress(reload);
  const exporting = useSubmission();
  const data = set.data;
  const progress = data ? progressOf(data, live[featureSetId]) : undefined;
  return (
    <Page title={`Feature set ${shortId(featureSetId)}`}>
      <ErrorMessage error={set.error} />
      {data && progress && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="feature-set-status">
              <StatusBadge status={progress.status} /> {data.error}
            </dd>
            <dt>Progress</dt>
            <dd data-testid="progress">
              <progress max={100} value={progress.percent} aria-label="extraction progress" /> {progress.done} / {progress.total} ({progress.percent}%)
            </dd>
            <dt>Rate, ETA</dt>
            <dd>
              {progress.imagesPerSecond} images/s, ETA {formatSeconds(progress.etaSeconds)}
            </dd>
            <dt>Dataset</dt>
            <dd>
              <a href={`#/datasets/${data.datasetId}`}>{data.datasetName ?? data.datasetId}</a>
            </dd>
            <dt>Model</dt>
            <dd>
              {data.model} / {data.layer} ({data.pooling}, {data.dtype}, {data.engine}), {data.dim ?? '?'} values
            </dd>
            <dt>Started</dt>
            <dd>{formatTime(data.startedAt)}</dd>
          </dl>
          <h2>Export</h2>
          <p className="exports">
            {SPLITS.map((split) => (
              <button key={split} disabled={data.status !== 'complete' || exporting.busy} onClick={() => void exporting.run(async () => (await downloadFile(`/feature-sets/${featureSetId}/export?format=csv&split=${split}`, `${split}.csv`), `${split}.csv saved.`))}>
                {split}.csv
              </button>
            ))}
          </p>
          <SubmissionStatus error={exporting.error} done={exporting.done} />
          {data.status === 'complete' && <TrainForm featureSetId={featureSetId} />}
        </>
      )}
      <h2>Failed images ({failures.items.length}{failures.hasMore ? '+' : ''})</h2>
      <ErrorMessage error={failures.error} />
      {failures.items.length > 0 && (
        <DataTable columns={['Image', 'Reason']} testId="failures">
          {failures.items.map((failure) => (
            <tr key={failure.imageId}>
              <td>
                <span className="failure-image">
                  <Thumbnail imageId={failure.imageId} alt={failure.path} size={64} />
                  {failure.path}
                </span>
              </td>
              <td className="reason">{failure.reason}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <MorePages pages={failures} what="failed images" />
    </Page>
  );
}

function TrainForm({ featureSetId }: { featureSetId: string }) {
  const [head, setHead] = useState<(typeof HEADS)[number]>('mlp');
  const [epochs, setEpochs] = useState('25');
  const [learningRate, setLearningRate] = useState('0.001');
  const submission = useSubmission();
  const submit = () =>
    submission.run(async () => {
      const queued = await postJson<{ runId: string }>('/runs', { featureSetId, head, epochs: Number(epochs), learningRate: Number(learningRate) });
      window.location.hash = `#/runs/${queued.runId}`;
      return 'Run queued.';
    });
  return (
    <Form label="Train a head" onSubmit={() => void submit()}>
      <h2>Train a head</h2>
      <Choice label="Head" value={head} options={HEADS} onChange={setHead} />
      <Field label="Epochs">{(id) => <input id={id} type="number" min={1} value={epochs} onChange={(event) => setEpochs(event.target.value)} />}</Field>
      <Field label="Learning rate">{(id) => <input id={id} type="number" step="any" min={0} value={learningRate} onChange={(event) => setLearningRate(event.target.value)} />}</Field>
      <button type="submit" disabled={submission.busy}>
        {submission.busy ? 'Queueing…' : 'Train'}
      </button>
      <SubmissionStatus error={submission.error} done={submission.done} />
    </Form>
  );
}
