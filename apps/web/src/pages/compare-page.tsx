import { useEffect, useState } from 'react';
import type { RunDetails, RunReport } from '@featx/contracts';
import { getJson } from '../api/client';
import { ConfusionMatrix } from '../charts/confusion-matrix';
import { LineChart, type LineSeries } from '../charts/line-chart';
import { ErrorMessage, Page, shortId, StatusBadge } from './common';

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];

interface Compared {
  run: RunDetails;
  report: RunReport;
}

/** Two or more runs side by side: validation curves overlaid, evaluation reports and confusion matrices next to each other. */
export function ComparePage({ runIds }: { runIds: string[] }) {
  const [runs, setRuns] = useState<Compared[]>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    const controller = new AbortController();
    Promise.all(
      runIds.map(async (id) => ({
        run: await getJson<RunDetails>(`/runs/${id}`, controller.signal),
        report: await getJson<RunReport>(`/runs/${id}/report`, controller.signal),
      })),
    ).then(setRuns, (failure: Error) => !controller.signal.aborted && setError(failure));
    return () => controller.abort();
  }, [runIds.join(',')]);

  const series = (metric: 'valLoss' | 'valAccuracy' | 'trainLoss'): LineSeries[] =>
    (runs ?? []).map(({ run }, i) => ({ name: `${shortId(run.id)}`, color: COLORS[i % COLORS.length], points: run.epochMetrics.map((e) => ({ x: e.epoch, y: e[metric] })) }));

  return (
    <Page title={`Comparing ${runIds.length} runs`}>
      {runIds.length < 2 && <p role="alert">Choose two or more runs on the Runs page to compare them.</p>}
      <ErrorMessage error={error} />
      {runs && (
        <>
          <div className="charts">
            <LineChart title="Validation loss" xLabel="epoch" series={series('valLoss')} />
            <LineChart title="Validation accuracy" xLabel="epoch" series={series('valAccuracy')} />
          </div>
          <div className="compare-columns" style={{ gridTemplateColumns: `repeat(${runs.length}, minmax(300px, 1fr))` }}>
            {runs.map(({ run, report }, i) => {
              const evaluation = report.evaluations.find((e) => e.split === 'evaluation');
              return (
                <section key={run.id} data-testid={`compared-${run.id}`} className="compare-column">
                  <h2 style={{ borderColor: COLORS[i % COLORS.length] }}>
                    <a href={`#/runs/${run.id}`}>Run {shortId(run.id)}</a> <StatusBadge status={run.status} />
                  </h2>
                  <p>
                    {String(run.config.head)}, {run.epochsDone} epochs, lr {String(run.config.learningRate)}
                    {evaluation && `, evaluation accuracy ${(evaluation.accuracy * 100).toFixed(1)}%`}
                  </p>
                  {evaluation ? (
                    <>
                      <pre className="report">{evaluation.report}</pre>
                      <ConfusionMatrix title={`Confusion matrix, run ${shortId(run.id)}`} classes={report.classes} confusion={evaluation.confusion} />
                    </>
                  ) : (
                    <p>No evaluation yet.</p>
                  )}
                </section>
              );
            })}
          </div>
        </>
      )}
    </Page>
  );
}
