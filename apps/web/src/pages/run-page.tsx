import { useEffect, useState } from 'react';
import type { EpochMetricView, RunDetails, RunReport } from '@featx/contracts';
import { postJson } from '../api/client';
import { followEvents } from '../api/event-stream';
import { useApi } from '../api/use-api';
import { ConfusionMatrix } from '../charts/confusion-matrix';
import { LineChart } from '../charts/line-chart';
import { CellImages } from './cell-images';
import { Leaderboard } from './leaderboard';
import { ErrorMessage, formatTime, Page, shortId, StatusBadge } from './common';

type EpochEvent = Omit<EpochMetricView, 'learningRate' | 'at'> & { runId: string };
const FINISHED = ['succeeded', 'failed', 'cancelled'];

/**
 * One run: status, its epoch curves (live: each runs.epoch event from the bus arrives over SSE and
 * extends them), a `head: auto` run's leaderboard, the classification report per split and the
 * confusion matrices.
 */
export function RunPage({ runId }: { runId: string }) {
  const details = useApi<RunDetails>(`/runs/${runId}`);
  const report = useApi<RunReport>(`/runs/${runId}/report`);
  const [liveEpochs, setLiveEpochs] = useState<EpochEvent[]>([]);
  const [liveStatus, setLiveStatus] = useState<{ status: string; error: string | null } | null>(null);
  const [cancelError, setCancelError] = useState<Error | undefined>();
  const [streamOpen, setStreamOpen] = useState(false);
  const [openCell, setOpenCell] = useState<{ split: string; t: number; p: number } | null>(null);
  const { reload: reloadDetails } = details;
  const { reload: reloadReport } = report;

  useEffect(() => {
    const controller = new AbortController();
    void followEvents(
      `/events/runs/${runId}`,
      (event) => {
        if (event.type === 'runs.epoch') setLiveEpochs((epochs) => [...epochs, event.data as EpochEvent]);
        if (event.type === 'runs.status') {
          const status = event.data as { status: string; error: string | null };
          setLiveStatus(status);
          if (FINISHED.includes(status.status)) {
            reloadDetails();
            reloadReport();
          }
        }
      },
      controller.signal,
      // What happened before the stream opened is in the GETs: read them once it is open.
      () => {
        setStreamOpen(true);
        reloadDetails();
        reloadReport();
      },
    );
    return () => {
      controller.abort();
      setStreamOpen(false);
    };
  }, [runId, reloadDetails, reloadReport]);

  const run = details.data;
  const epochs = mergeEpochs(run?.epochMetrics ?? [], liveEpochs);
  const status = run && FINISHED.includes(run.status) ? run.status : (liveStatus?.status ?? run?.status ?? '…');
  const cancel = () => postJson(`/runs/${runId}/cancel`).then(() => reloadDetails(), setCancelError);

  return (
    <Page
      title={`Run ${shortId(runId)}`}
      actions={
        run && !FINISHED.includes(status) ? (
          <button onClick={() => void cancel()} className="danger">
            Cancel run
          </button>
        ) : undefined
      }
    >
      <ErrorMessage error={details.error ?? cancelError} />
      {run && (
        <dl className="facts">
          <dt>Status</dt>
          <dd data-testid="run-status">
            <StatusBadge status={status} />
            {run.phase && ` ${run.phase.step} ${run.phase.done}/${run.phase.total} ${run.phase.unit}`}
          </dd>
          <dt>Events</dt>
          <dd data-testid="live-indicator">
            {streamOpen ? '● live' : 'connecting…'} · {liveEpochs.length} epoch events
          </dd>
          <dt>Epochs</dt>
          <dd data-testid="run-epochs">
            {epochs.length} / {run.epochs}
          </dd>
          <dt>Head</dt>
          <dd>{String(run.config.head ?? '–')}</dd>
          <dt>Feature set</dt>
          <dd>{run.featureSetId}</dd>
          <dt>Started</dt>
          <dd>{formatTime(run.startedAt)}</dd>
          <dt>Finished</dt>
          <dd>{formatTime(run.finishedAt)}</dd>
          {(run.error ?? liveStatus?.error) && (
            <>
              <dt>Error</dt>
              <dd className="error">{run.error ?? liveStatus?.error}</dd>
            </>
          )}
        </dl>
      )}
      {epochs.length > 0 && (
        <div className="charts">
          <LineChart
            title="Loss"
            xLabel="epoch"
            series={[
              { name: 'training loss', color: '#2563eb', points: epochs.map((e) => ({ x: e.epoch, y: e.trainLoss })) },
              { name: 'validation loss', color: '#dc2626', points: epochs.map((e) => ({ x: e.epoch, y: e.valLoss })) },
            ]}
          />
          <LineChart
            title="Accuracy"
            xLabel="epoch"
            series={[
              { name: 'training accuracy', color: '#2563eb', points: epochs.map((e) => ({ x: e.epoch, y: e.trainAccuracy })) },
              { name: 'validation accuracy', color: '#dc2626', points: epochs.map((e) => ({ x: e.epoch, y: e.valAccuracy })) },
            ]}
          />
        </div>
      )}
      {run && epochs.length === 0 && <p>No epoch has finished yet; the curves appear as the trainer reports each one.</p>}
      {run?.candidates && run.candidates.length > 0 && <Leaderboard candidates={run.candidates} members={searchMembers(run.config)} />}
      <ErrorMessage error={report.error} />
      {report.data?.evaluations.map((evaluation) => {
        const classes = report.data!.classes;
        const cell = openCell?.split === evaluation.split ? openCell : null;
        return (
          <section key={evaluation.split} className="evaluation">
            <h2>
              {evaluation.split} split: accuracy {(evaluation.accuracy * 100).toFixed(1)}%
            </h2>
            <div className="evaluation-body">
              <pre className="report" data-testid={`report-${evaluation.split}`}>
                {evaluation.report}
              </pre>
              <ConfusionMatrix
                title={`Confusion matrix, ${evaluation.split} split`}
                classes={classes}
                confusion={evaluation.confusion}
                selected={cell}
                onSelect={({ t, p }) => setOpenCell({ split: evaluation.split, t, p })}
              />
            </div>
            {cell && (
              <CellImages
                runId={runId}
                split={evaluation.split}
                trueClass={classes[cell.t]}
                predictedClass={classes[cell.p]}
                count={evaluation.confusion[cell.t]?.[cell.p] ?? 0}
                onClose={() => setOpenCell(null)}
              />
            )}
          </section>
        );
      })}
    </Page>
  );
}

/** The names of the members of a searched run's model, the chosen first (none for other runs). */
function searchMembers(config: Record<string, unknown>): string[] {
  const search = config.search as { members?: unknown } | undefined;
  return Array.isArray(search?.members) ? search.members.filter((m): m is string => typeof m === 'string') : [];
}

/** The recorded epochs, then live ones not recorded yet (an epoch may come both ways). */
function mergeEpochs(recorded: EpochMetricView[], live: EpochEvent[]): EpochEvent[] {
  const byEpoch = new Map<number, EpochEvent>();
  for (const e of live) byEpoch.set(e.epoch, e);
  for (const e of recorded) byEpoch.set(e.epoch, { ...e, runId: '' });
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}
