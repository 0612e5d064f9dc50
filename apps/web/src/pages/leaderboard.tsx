import type { RunCandidateView } from '@featx/contracts';

/**
 * A `head: auto` run's leaderboard: every candidate best first, how far it trained, its validation
 * accuracy (as a bar too: the spread is what one looks for) and loss; the chosen head and the other
 * members of its ensemble marked.
 */
export function Leaderboard({ candidates, members }: { candidates: RunCandidateView[]; members: readonly string[] }) {
  const scored = candidates.flatMap((c) => (c.valAccuracy === null ? [] : [c.valAccuracy]));
  const [low, high] = [Math.min(...scored), Math.max(...scored)];
  // Bars from a little below the worst score, so that differences of a point are visible.
  const floor = Math.max(0, low - (high - low) * 0.1 - 0.001);
  return (
    <section className="leaderboard">
      <h2>
        Head search: {candidates.filter((c) => c.outcome !== 'baseline').length} candidates{candidates.some((c) => c.outcome === 'baseline') ? ' and the kNN baseline' : ''}
      </h2>
      <div className="table-scroll">
        <table data-testid="leaderboard">
          <thead>
            <tr>
              <th scope="col">Rank</th>
              <th scope="col">Candidate</th>
              <th scope="col">Trained</th>
              <th scope="col">Val accuracy</th>
              <th scope="col">Val loss</th>
            </tr>
          </thead>
          <tbody>
            {candidates.map((c) => {
              const mark = c.chosen ? 'chosen' : members.slice(1).includes(c.name) ? 'member' : null;
              return (
                <tr key={`${c.rank}-${c.name}`} className={mark ? `candidate-${mark}` : undefined}>
                  <td>
                    {c.rank}
                    {mark && <span className="mark"> {mark}</span>}
                  </td>
                  <td>{c.name}</td>
                  <td>{progressOf(c)}</td>
                  <td className="accuracy">
                    {c.valAccuracy === null ? '–' : `${(c.valAccuracy * 100).toFixed(1)}%`}
                    {c.valAccuracy !== null && high > floor && (
                      <span className="bar" aria-hidden="true" style={{ width: `${(((c.valAccuracy - floor) / (high - floor)) * 100).toFixed(1)}%` }} />
                    )}
                  </td>
                  <td>{c.valLoss === null ? '–' : c.valLoss.toFixed(3)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** What a converged candidate was fit on: the whole training split, or a sample of one too large to hold. */
function fitOn(c: RunCandidateView): string {
  return c.sampleRows === null || c.sampleRows === undefined || !c.splitRows
    ? 'fit on the whole split'
    : `fit on a sample of ${c.sampleRows.toLocaleString('en-US')} of ${c.splitRows.toLocaleString('en-US')} rows`;
}

/** A converged candidate's held-out accuracy in the training split's cross-validation ('' where it had none). */
function crossValidated(c: RunCandidateView): string {
  return c.cvAccuracy === null || c.cvAccuracy === undefined ? '' : `, cross-validation ${(c.cvAccuracy * 100).toFixed(1)}%`;
}

function progressOf(c: RunCandidateView): string {
  switch (c.outcome) {
    case 'baseline':
      return 'baseline (never the model)';
    case 'fit':
      return `${fitOn(c)} (L-BFGS)${crossValidated(c)}`;
    case 'ruled-out':
      return `fit (L-BFGS), ruled out by cross-validation${crossValidated(c)}`;
    case 'skipped':
      return 'skipped (training split too large to hold, a sample too small)';
    case 'pruned':
      return `${c.epochsTrained} epochs, best ${c.bestEpoch ?? '–'}, pruned after ${c.prunedAfter}`;
    case 'early-stopped':
      return `${c.epochsTrained} epochs, best ${c.bestEpoch ?? '–'}, stopped early`;
    default:
      return `${c.epochsTrained} epochs, best ${c.bestEpoch ?? '–'}`;
  }
}
