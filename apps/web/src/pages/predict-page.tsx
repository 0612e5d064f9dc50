import { useEffect, useState } from 'react';
import type { PredictResponse, RunSummary } from '@featx/contracts';
import { postForm } from '../api/client';
import { usePagedApi } from '../api/use-paged-api';
import { DataTable, ErrorMessage, MorePages, Page, shortId } from './common';
import { Field, Form, SubmissionStatus, useSubmission } from './forms';

const TOP = 3;

/** Classify images dropped or chosen here with a succeeded run (POST /runs/{id}/predict/upload). */
export function PredictPage() {
  const runs = usePagedApi<RunSummary>('/runs');
  const succeeded = runs.items.filter((run) => run.status === 'succeeded');
  const [runId, setRunId] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [result, setResult] = useState<PredictResponse>();
  const [dragging, setDragging] = useState(false);
  const submission = useSubmission();
  const chosenRun = runId || succeeded[0]?.id || '';
  const previews = usePreviews(files);
  const submit = () =>
    submission.run(async () => {
      const form = new FormData();
      for (const file of files) form.append('images', file, file.name);
      setResult(await postForm<PredictResponse>(`/runs/${chosenRun}/predict/upload`, form));
      return `Classified ${files.length} image${files.length === 1 ? '' : 's'}.`;
    });
  return (
    <Page title="Predict">
      <ErrorMessage error={runs.error} />
      {runs.loaded && !runs.hasMore && succeeded.length === 0 && <p>No succeeded run yet: train one first.</p>}
      <MorePages pages={runs} what="runs to choose from" />
      <Form
        label="Classify images"
        className={dragging ? 'inline-form drop dragging' : 'inline-form drop'}
        onSubmit={() => void submit()}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          setFiles([...event.dataTransfer.files]);
        }}
      >
        <Field label="Run">
          {(id) => (
            <select id={id} value={chosenRun} onChange={(event) => setRunId(event.target.value)}>
              {succeeded.map((run) => (
                <option key={run.id} value={run.id}>
                  {shortId(run.id)} ({String(run.config.head)}, {run.classes.length} classes)
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Images" hint="choose files, or drop them on this form">
          {(id) => <input id={id} type="file" accept="image/*" multiple onChange={(event) => setFiles([...(event.target.files ?? [])])} />}
        </Field>
        <button type="submit" disabled={submission.busy || !chosenRun || files.length === 0}>
          {submission.busy ? 'Classifying…' : 'Classify'}
        </button>
        <SubmissionStatus error={submission.error} done={submission.done} />
      </Form>
      {result && (
        <DataTable columns={['Image', 'Top classes']} testId="predictions">
          {result.predictions.map((prediction) => (
            <tr key={prediction.image}>
              <td>{prediction.image}</td>
              <td>
                {prediction.error ? (
                  <span className="error">{prediction.error}</span>
                ) : (
                  <ol className="top-classes">
                    {Object.entries(prediction.probabilities ?? {})
                      .sort((a, b) => b[1] - a[1])
                      .slice(0, TOP)
                      .map(([label, probability]) => (
                        <li key={label}>
                          <span className="bar" style={{ width: `${Math.round(probability * 100)}%` }} />
                          {label} {(probability * 100).toFixed(1)}%
                        </li>
                      ))}
                  </ol>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Page>
  );
}

/** Object URLs of the chosen files by name, for previews of what was classified (revoked when the files change). */
function usePreviews(files: File[]): Record<string, string> {
  const [urls, setUrls] = useState<Record<string, string>>({});
  useEffect(() => {
    const made = Object.fromEntries(files.map((file) => [file.name, URL.createObjectURL(file)]));
    setUrls(made);
    return () => Object.values(made).forEach((url) => URL.revokeObjectURL(url));
  }, [files]);
  return urls;
}
