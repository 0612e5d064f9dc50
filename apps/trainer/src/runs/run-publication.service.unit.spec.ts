import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ObjectStoreMeta } from '@nats-io/obj';
import { ArtifactObjects, ArtifactStore } from '@featx/bus';
import { InMemoryRunsRepository, standIn } from '@featx/db/testing';
import { JsonLogger, loadConfig } from '@featx/runtime';
import { suiteTempDir } from '@featx/testing';
import { RunArtifacts } from './artifacts';
import { Interrupted } from './run-context';
import { RunPublication } from './run-publication.service';

/** An object store in memory: what was put, by name, with the digest the real one states. */
class PutObjects {
  readonly objects = new Map<string, Buffer>();
  async put(meta: ObjectStoreMeta, data: ReadableStream<Uint8Array>) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of data as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    this.objects.set(meta.name, bytes);
    return { name: meta.name, size: bytes.length, digest: `SHA-256=${createHash('sha256').update(bytes).digest('base64url')}` };
  }
}

const runId = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

describe('RunPublication', () => {
  const temp = suiteTempDir('featx-publication-');
  let runs: InMemoryRunsRepository;
  let objects: PutObjects;
  let publication: RunPublication;

  /** A run's folder as the trainer leaves it: a model, the curves, and a checkpoint that is not a deliverable. */
  async function trainedFolder(id: string): Promise<RunArtifacts> {
    const artifacts = new RunArtifacts(temp.path(), id);
    await fs.mkdir(artifacts.model, { recursive: true });
    await fs.mkdir(artifacts.checkpoint, { recursive: true });
    await fs.writeFile(path.join(artifacts.model, 'model.json'), '{"format":"layers-model"}');
    await fs.writeFile(path.join(artifacts.model, 'featx-head.json'), '{}');
    await fs.writeFile(path.join(artifacts.checkpoint, 'weights.bin'), 'resume point');
    await fs.writeFile(artifacts.file('curves.svg'), '<svg/>');
    return artifacts;
  }

  beforeEach(() => {
    runs = new InMemoryRunsRepository();
    objects = new PutObjects();
    const config = loadConfig('trainer', { FEATX_ARTIFACTS_DIR: temp.path() });
    publication = new RunPublication(ArtifactStore.over(objects as unknown as ArtifactObjects, 'test-artifacts'), standIn(runs), config, new JsonLogger('trainer', 'error'));
  });

  it('puts the model folder and the pictures there are, then records them on the run the worker holds', async () => {
    const id = runId(1);
    await runs.createQueued({ id, featureSetId: runId(9), config: {}, classes: ['a', 'b'] });
    await runs.claimNext('trainer-1', new Date());
    const records = await publication.publish(id, await trainedFolder(id), 'trainer-1');

    expect(records.map((r) => r.name)).toEqual(['model/featx-head.json', 'model/model.json', 'curves.svg']);
    expect([...objects.objects.keys()]).toEqual(records.map((r) => `${id}/${r.name}`));
    expect(records[2]).toEqual({ name: 'curves.svg', bytes: 6, digest: `SHA-256=${createHash('sha256').update('<svg/>').digest('base64url')}` });
    expect((await runs.get(id))!.publishedArtifacts).toEqual(records);
  });

  it('records nothing for a worker that lost the run: it is interrupted, and the holder publishes', async () => {
    const id = runId(2);
    await runs.createQueued({ id, featureSetId: runId(9), config: {}, classes: ['a', 'b'] });
    await runs.claimNext('trainer-2', new Date());
    await expect(publication.publish(id, await trainedFolder(id), 'trainer-1')).rejects.toThrow(Interrupted);
    expect((await runs.get(id))!.publishedArtifacts).toBeNull();
  });

  it('publishes at start the succeeded runs with nothing on record whose folder is on this disk, once', async () => {
    const [here, elsewhere, done] = [runId(3), runId(4), runId(5)];
    for (const id of [here, elsewhere, done]) {
      await runs.createQueued({ id, featureSetId: runId(9), config: {}, classes: ['a', 'b'] });
      await runs.finish(id, 'succeeded');
    }
    await trainedFolder(here);
    await trainedFolder(done);
    runs.runs.set(done, { ...runs.runs.get(done)!, publishedArtifacts: [{ name: 'model/model.json', bytes: 1, digest: 'SHA-256=x' }] });

    expect(await publication.publishEarlierRuns()).toBe(1);
    expect((await runs.get(here))!.publishedArtifacts!.map((r) => r.name)).toEqual(['model/featx-head.json', 'model/model.json', 'curves.svg']);
    expect((await runs.get(elsewhere))!.publishedArtifacts).toBeNull();
    expect([...objects.objects.keys()].every((name) => name.startsWith(`${here}/`))).toBe(true);
    expect(await publication.publishEarlierRuns()).toBe(0);
  });
});
