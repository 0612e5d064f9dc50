import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { HeadEngine, InputView, INPUT_VIEWS, loadCheckpoint, saveCheckpoint, Standardization, TrainableHead } from '@featx/learning';
import { RunArtifacts } from './artifacts';

/**
 * The further heads of a `--head auto` run whose model is an ensemble: each candidate's best
 * weights and how its inputs are prepared. The run's own head (the winner) is the first member and
 * is not among them. They are kept in the run's folder (`ensemble/member-<k>`) so that a trainer
 * taking the run over after the search rebuilds the same model.
 */
export interface RunMember {
  head: TrainableHead;
  input: InputView;
  /** The training split's statistics where the input is standardized. */
  standardization: Standardization | null;
}

const ENSEMBLE_FOLDER = 'ensemble';
const MEMBER_FILE = 'featx-member.json';

export async function saveRunMembers(artifacts: RunArtifacts, members: readonly RunMember[]): Promise<void> {
  await artifacts.replaceFolder(artifacts.file(ENSEMBLE_FOLDER), async (dir) => {
    for (const [k, member] of members.entries()) {
      const folder = path.join(dir, `member-${k + 1}`);
      await fs.mkdir(folder, { recursive: true });
      await saveCheckpoint(member.head, folder);
      await fs.writeFile(path.join(folder, MEMBER_FILE), JSON.stringify({ input: member.input }));
    }
  });
}

/** The `count` members saveRunMembers kept; `statistics`: the training split's, for standardized members. */
export async function loadRunMembers(artifacts: RunArtifacts, count: number, engine: HeadEngine, statistics: Standardization | null): Promise<RunMember[]> {
  const members: RunMember[] = [];
  try {
    for (let k = 1; k <= count; k++) {
      const folder = path.join(artifacts.file(ENSEMBLE_FOLDER), `member-${k}`);
      const { input } = JSON.parse(await fs.readFile(path.join(folder, MEMBER_FILE), 'utf8')) as { input: InputView };
      if (!INPUT_VIEWS.includes(input)) throw new Error(`${path.join(folder, MEMBER_FILE)}: input ${JSON.stringify(input)} is not one of ${INPUT_VIEWS.join(', ')}`);
      if (input === 'standardized' && !statistics) throw new Error(`ensemble member ${k} is standardized, and the run has no training statistics`);
      members.push({ head: await loadCheckpoint(folder, { engine }), input, standardization: input === 'standardized' ? statistics : null });
    }
    return members;
  } catch (error) {
    members.forEach((member) => member.head.dispose());
    throw new Error(`cannot rebuild the run's ensemble from ${artifacts.file(ENSEMBLE_FOLDER)}: ${(error as Error).message}`);
  }
}
