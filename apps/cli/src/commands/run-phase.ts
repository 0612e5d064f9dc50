import type { RunPhase, StoreWaitView } from '@featx/contracts';
import { formatCount } from '../format';
import { formatEta, progressCells } from '../progress-bar';

export interface PhaseTextOptions {
  /** A cancel was asked for: the run stops at its next batch. */
  cancelling?: boolean;
  /** Cells of the bar; default 20. */
  width?: number;
}

/**
 * What a run is doing now, on one line (pure: the same phase gives the same text):
 *
 *     standardizing [██████░░░░░░░░░░░░░░] 1,024/3,068 rows 33% · 2,100 rows/s · ETA 1s
 *     choosing L2 (5 candidates): epoch 3/10 [██████░░░░░░░░░░░░░░] 30% · 1,480 rows/s · ETA 40s
 *     choosing a head (12 of 36 candidates training): [██░░░░░░░░░░░░░░░░░░] 2/25 epochs 8% · 3,100 rows/s
 *     waiting for its search shares (2 training): [██████░░░░░░░░░░░░░░] 1/3 shares done 33%
 *     training [██░░░░░░░░░░░░░░░░░░] 3/25 epochs 12% · 1,460 rows/s
 *     evaluating [█████████░░░░░░░░░░░] 341/713 rows 47% · 2,000 rows/s · ETA 1s
 *
 * The search's bar counts rows of all its passes, so it moves within an epoch; its ETA, like the
 * others', is the rows left at the rate so far. Training has no ETA here: its epochs' times give
 * a better one (the live line of `featx train`). While the reads wait for a feature store, the
 * line ends with it: ` · waiting for feature store "store-b" (since 2026-12-02T03:40:00Z)`.
 */
export function phaseText(phase: RunPhase, options: PhaseTextOptions = {}): string {
  return stepText(phase, options) + waitingText(phase.waitingFor);
}

/** ` · waiting for feature store "X" (since <ISO time to the second>)`, or '' when the reads wait for none. */
export function waitingText(wait: StoreWaitView | undefined): string {
  if (!wait) return '';
  return ` · waiting for feature store "${wait.store}" (since ${wait.since.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '')})`;
}

function stepText(phase: RunPhase, options: PhaseTextOptions): string {
  const { bar, done, total, percent, finished } = progressCells(phase.done, phase.total, options.width ?? 20);
  const cancelling = options.cancelling ? ' (cancelling)' : '';
  const rate = `${phase.rowsPerSecond === null ? '--' : formatCount(phase.rowsPerSecond)} rows/s`;
  const eta = `ETA ${finished ? '0s' : phase.rowsPerSecond ? formatEta((total - done) / phase.rowsPerSecond) : '--'}`;
  switch (phase.step) {
    case 'choosing-l2':
      return `choosing L2 (${phase.candidates} candidates)${cancelling}: epoch ${phase.epoch}/${phase.epochs} ${bar} ${percent}% · ${rate} · ${eta}`;
    case 'choosing-head':
      return `choosing a head (${phase.candidates} of ${phase.of} candidates training)${cancelling}: ${bar} ${done}/${total} epochs ${percent}% · ${rate}`;
    case 'waiting-for-shares':
      return `waiting for its search shares (${phase.training} training)${cancelling}: ${bar} ${done}/${total} shares done ${percent}%`;
    case 'training':
      return `training${cancelling} ${bar} ${done}/${total} epochs ${percent}% · ${rate}`;
    case 'standardizing':
    case 'evaluating':
      return `${phase.step}${cancelling} ${bar} ${formatCount(done)}/${formatCount(total)} rows ${percent}% · ${rate} · ${eta}`;
  }
}
