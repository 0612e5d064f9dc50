import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { HeadEngine, loadCheckpoint, saveCheckpoint, TrainableHead } from '@featx/learning';
import { RunArtifacts } from './artifacts';

/** Where training stands, recorded beside each checkpoint to resume exactly where the run stopped. */
export interface TrainingProgress {
  epochsDone: number;
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochsSinceBest: number;
}

export const NO_PROGRESS: TrainingProgress = { epochsDone: 0, bestEpoch: null, bestValLoss: null, epochsSinceBest: 0 };

/** The head and where training stands: what the epoch loop continues from. */
export interface TrainingState {
  head: TrainableHead;
  progress: TrainingProgress;
}

const PROGRESS_FILE = 'featx-run.json';

/** Replaces the run's checkpoint with the head after an epoch; an improved one is also kept as the best. */
export async function saveRunCheckpoint(artifacts: RunArtifacts, head: TrainableHead, progress: TrainingProgress, improved: boolean): Promise<void> {
  await artifacts.replaceFolder(artifacts.checkpoint, async (dir) => {
    await saveCheckpoint(head, dir);
    await fs.writeFile(path.join(dir, PROGRESS_FILE), JSON.stringify(progress));
  });
  if (improved) await artifacts.copyFolder(artifacts.checkpoint, artifacts.best);
}

/** The run's last checkpoint, or undefined where it has none. */
export async function loadRunCheckpoint(artifacts: RunArtifacts, engine: HeadEngine): Promise<TrainingState | undefined> {
  if (!(await artifacts.exists(artifacts.checkpoint))) return undefined;
  const progress = JSON.parse(await fs.readFile(path.join(artifacts.checkpoint, PROGRESS_FILE), 'utf8')) as TrainingProgress;
  return { head: await loadCheckpoint(artifacts.checkpoint, { engine }), progress };
}
