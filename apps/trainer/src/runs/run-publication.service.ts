import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ArtifactRecord, ArtifactStore } from '@featx/bus';
import { RunsRepository } from '@featx/db';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
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
 *
 * At start it also publishes the runs that succeeded before publishing existed, where their
 * folder is on this trainer's disk: after an upgrade their models serve predictions again.
 */
@Injectable()
export class RunPublication implements OnApplicationBootstrap {
  constructor(
    private readonly store: ArtifactStore,
    private readonly runs: RunsRepository,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    // In the background: training starts meanwhile, and a failure here costs those runs only their artifacts.
    void this.publishEarlierRuns().catch((error: Error) => this.logger.warn('cannot publish the artifacts of earlier runs', { error: error.message }));
  }

  async publish(runId: string, artifacts: RunArtifacts, worker: string): Promise<ArtifactRecord[]> {
    const records = await this.withRetries(runId, () => this.upload(runId, artifacts));
    // Only the trainer still holding the run records it: one that lost it hands it over instead.
    if (!(await this.runs.recordPublishedArtifacts(runId, worker, records))) throw new Interrupted();
    this.logger.info('run artifacts published', { runId, bucket: this.store.bucket, objects: records.length, bytes: totalBytes(records) });
    return records;
  }

  /**
   * Publishes one local folder of the run as `<run>/<folder>/...` (a search share's best candidate)
   * and records it on the run, as `publish` does the model.
   */
  async publishFolder(runId: string, folder: string, localDir: string, worker: string): Promise<ArtifactRecord[]> {
    const records = await this.withRetries(runId, () => this.store.putFolder(runId, folder, localDir));
    if (!(await this.runs.recordPublishedArtifacts(runId, worker, records))) throw new Interrupted();
    this.logger.info('run artifacts published', { runId, bucket: this.store.bucket, objects: records.length, bytes: totalBytes(records) });
    return records;
  }

  /** Succeeded runs with nothing published whose model folder is on this trainer's disk; returns how many it published. */
  async publishEarlierRuns(): Promise<number> {
    let published = 0;
    for (const run of await this.runs.unpublishedSucceeded()) {
      const artifacts = new RunArtifacts(this.config.training.artifactsDir, run.id);
      if (!(await artifacts.exists(artifacts.model))) continue; // another trainer's host, or gone
      try {
        const records = await this.withRetries(run.id, () => this.upload(run.id, artifacts));
        if (await this.runs.recordLatePublishedArtifacts(run.id, records)) {
          published += 1;
          this.logger.info('artifacts of an earlier run published', { runId: run.id, bucket: this.store.bucket, objects: records.length, bytes: totalBytes(records) });
        }
      } catch (error) {
        this.logger.warn('cannot publish the artifacts of an earlier run; it cannot predict until retrained', { runId: run.id, error: (error as Error).message });
      }
    }
    return published;
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
        if (n >= ATTEMPTS) throw new Error(`cannot publish the artifacts of run ${runId} to the bucket ${this.store.bucket} (${ATTEMPTS} attempts): ${message}`);
        this.logger.warn('cannot publish run artifacts yet, retrying', { runId, attempt: n, error: message });
        await new Promise((resolve) => setTimeout(resolve, FIRST_RETRY_MS * 2 ** (n - 1)));
      }
    }
  }
}

function totalBytes(records: ArtifactRecord[]): number {
  return records.reduce((sum, r) => sum + r.bytes, 0);
}
