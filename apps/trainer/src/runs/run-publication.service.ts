import { Inject, Injectable } from '@nestjs/common';
import { ArtifactRecord, ArtifactStore } from '@featx/bus';
import { RunsRepository } from '@featx/db';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { RunArtifacts } from './artifacts';
import { Interrupted } from './run-context';

/** What a run delivers, as published: the model folder (all prediction needs) and the report pictures. */
export const PUBLISHED_MODEL_FOLDER = 'model';
export const PUBLISHED_PICTURES = ['curves.svg', 'curves.png', 'confusion.svg', 'confusion.png'] as const;

/** Attempts at publishing before the run fails: NATS may be moving to another node meanwhile. */
const ATTEMPTS = 5;
const FIRST_RETRY_MS = 1000;

/**
 * Publishes a finished run's deliverables from the trainer's folder to the namespace's artifacts
 * bucket, then records on the run what is there. The record comes last: until it is written no
 * reader looks for the objects, so a trainer dying mid-upload leaves nothing half a model (the
 * next trainer resumes the run and publishes it whole). Checkpoints stay on the trainer's disk.
 */
@Injectable()
export class RunPublication {
  constructor(
    private readonly store: ArtifactStore,
    private readonly runs: RunsRepository,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async publish(runId: string, artifacts: RunArtifacts, worker: string): Promise<ArtifactRecord[]> {
    const records = await this.withRetries(runId, () => this.upload(runId, artifacts));
    // Only the trainer still holding the run records it: one that lost it hands it over instead.
    if (!(await this.runs.recordPublishedArtifacts(runId, worker, records))) throw new Interrupted();
    this.logger.info('run artifacts published', { runId, bucket: this.store.bucket, objects: records.length, bytes: records.reduce((sum, r) => sum + r.bytes, 0) });
    return records;
  }

  private async upload(runId: string, artifacts: RunArtifacts): Promise<ArtifactRecord[]> {
    const records = await this.store.putFolder(runId, PUBLISHED_MODEL_FOLDER, artifacts.model);
    for (const picture of PUBLISHED_PICTURES) {
      // The confusion matrix exists only when the run had an evaluation split.
      if (await artifacts.exists(artifacts.file(picture))) records.push(await this.store.putFile(runId, picture, artifacts.file(picture)));
    }
    return records;
  }

  private async withRetries<T>(runId: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const message = (error as Error).message;
        if (n >= ATTEMPTS) throw new Error(`cannot publish the run's artifacts to the bucket ${this.store.bucket} (${ATTEMPTS} attempts): ${message}`);
        this.logger.warn('cannot publish run artifacts yet, retrying', { runId, attempt: n, error: message });
        await new Promise((resolve) => setTimeout(resolve, FIRST_RETRY_MS * 2 ** (n - 1)));
      }
    }
  }
}
