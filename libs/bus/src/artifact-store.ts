import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageType } from '@nats-io/jetstream';
import { ObjectInfo, ObjectStore, Objm } from '@nats-io/obj';
import { BusNames } from '@featx/contracts';
import { BusConnection } from './connection';

/** One object of a run as published: where it is, how big, and the digest the store checks on every read. */
export interface ArtifactRecord {
  /** Inside the run, e.g. `model/model.json` or `curves.png`. */
  name: string;
  bytes: number;
  /** As the object store states it: `SHA-256=<base64url>`. */
  digest: string;
}

/** A published object that is not there as recorded: deleted since, or replaced by another publication. */
export class ArtifactUnavailableError extends Error {
  override readonly name = 'ArtifactUnavailableError';
}

/** The JetStream object store bucket of a namespace's run artifacts (its stream is `OBJ_<bucket>`). */
export function artifactBucket(names: BusNames): string {
  return `${names.namespace}-artifacts`;
}

/** The stream that holds the bucket's objects (the object store's naming: `OBJ_<bucket>`). */
export function artifactStreamName(names: BusNames): string {
  return `OBJ_${artifactBucket(names)}`;
}

/** What ArtifactStore needs of an object store (a subset, so a unit test can hand it one in memory). */
export type ArtifactObjects = Pick<ObjectStore, 'put' | 'get' | 'info' | 'list' | 'delete'>;

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PART = /^[A-Za-z0-9_.-]{1,200}$/;

/** `<runId>/`: every object of the run is named under it. */
export function artifactRunPrefix(runId: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`artifact run id "${runId}" is invalid: use 1-64 letters, digits, '_' or '-'`);
  return `${runId}/`;
}

/** `<runId>/<name>`, refusing names that could reach outside the run (or outside a folder when downloaded). */
export function artifactObjectName(runId: string, name: string): string {
  const prefix = artifactRunPrefix(runId);
  const parts = name.split('/');
  if (parts.some((part) => !PART.test(part) || part === '.' || part === '..')) {
    throw new Error(`artifact name "${name}" is invalid: use '/'-separated parts of letters, digits, '_', '.', '-', none of them '.' or '..'`);
  }
  return `${prefix}${name}`;
}

/** The records of `records` inside `folder`, named relative to it (`model/model.json` → `model.json`). */
export function artifactsInFolder(records: readonly ArtifactRecord[], folder: string): ArtifactRecord[] {
  const prefix = `${folder}/`;
  return records.filter((r) => r.name.startsWith(prefix)).map((r) => ({ ...r, name: r.name.slice(prefix.length) }));
}

export interface ArtifactStoreOptions {
  /** Copies of every object on a JetStream cluster (FEATX_STREAM_REPLICAS); 1 on a single server. */
  replicas?: number;
  /** How long opening keeps asking while a cluster settles (default 30 s); then it fails naming the last answer. */
  settleTimeoutMs?: number;
}

/**
 * A namespace's run artifacts (final models, report pictures) in a JetStream object store, so any
 * service on any host reads what the trainer published without touching the trainer's disk. Each
 * object is put atomically (readers see the old object or the new one, never half); a set of
 * objects is as complete as the record its publisher writes after the last put (see the runs table).
 */
export class ArtifactStore {
  private constructor(
    private readonly objects: ArtifactObjects,
    readonly bucket: string,
  ) {}

  /**
   * Opens the namespace's bucket, creating it when it does not exist yet. Creation is idempotent:
   * several services starting at once ask for the same configuration and all get the one bucket.
   */
  static async open(bus: BusConnection, options: ArtifactStoreOptions = {}): Promise<ArtifactStore> {
    const bucket = artifactBucket(bus.names);
    const objm = new Objm(bus.js);
    const deadline = Date.now() + (options.settleTimeoutMs ?? 30000);
    for (let wait = 250; ; wait = Math.min(wait * 2, 4000)) {
      try {
        return new ArtifactStore(await objm.create(bucket, { storage: StorageType.File, replicas: options.replicas ?? 1, description: `featx run artifacts of namespace ${bus.names.namespace}` }), bucket);
      } catch (error) {
        // Lost a creation race ("stream name already in use"): the winner's bucket is there now.
        const existing = await objm.open(bucket).catch(() => undefined);
        if (existing) return new ArtifactStore(existing, bucket);
        // Neither: a cluster still electing its leaders answers so for a moment; ask again until the deadline.
        if (Date.now() + wait > deadline) throw new Error(`cannot open the artifacts bucket ${bucket}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Over objects already opened (a unit test's in-memory store). */
  static over(objects: ArtifactObjects, bucket: string): ArtifactStore {
    return new ArtifactStore(objects, bucket);
  }

  /** Puts bytes as `<runId>/<name>`, replacing any earlier object of that name whole. */
  async put(runId: string, name: string, data: Uint8Array): Promise<ArtifactRecord> {
    return this.putStream(runId, name, Readable.toWeb(Readable.from([data])) as ReadableStream<Uint8Array>);
  }

  /** Puts a local file as `<runId>/<name>`, streamed (a large head never sits in memory whole). */
  async putFile(runId: string, name: string, file: string): Promise<ArtifactRecord> {
    return this.putStream(runId, name, Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
  }

  /** Puts every file under a local folder as `<runId>/<folder>/<relative path>`, in name order. */
  async putFolder(runId: string, folder: string, localDir: string): Promise<ArtifactRecord[]> {
    const entries = await fs.readdir(localDir, { withFileTypes: true, recursive: true });
    const files = entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(localDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
    if (files.length === 0) throw new Error(`cannot publish ${localDir} as ${folder}: the folder has no files`);
    const records: ArtifactRecord[] = [];
    for (const file of files) records.push(await this.putFile(runId, `${folder}/${file}`, path.join(localDir, file)));
    return records;
  }

  /** The bytes of `<runId>/<name>`, or null when there is no such object. The store checks the digest. */
  async get(runId: string, name: string): Promise<Uint8Array | null> {
    const result = await this.objects.get(artifactObjectName(runId, name));
    if (!result) return null;
    const chunks: Uint8Array[] = [];
    await pipeline(
      Readable.fromWeb(result.data as import('node:stream/web').ReadableStream<Uint8Array>),
      new Writable({
        write(chunk: Uint8Array, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    await failed(result.error, `${this.bucket}/${artifactObjectName(runId, name)}`);
    return Buffer.concat(chunks);
  }

  /**
   * Downloads the objects `expected` names (records relative to `<runId>/<folder>`, as
   * artifactsInFolder gives them) into `localDir`, each checked against its record: an object that
   * is missing or was replaced since it was recorded is an error naming it, never a mixed folder.
   */
  async getFolder(runId: string, folder: string, expected: readonly ArtifactRecord[], localDir: string): Promise<void> {
    if (expected.length === 0) throw new Error(`${this.bucket}: no objects recorded under ${runId}/${folder}`);
    for (const record of expected) {
      const file = path.join(localDir, ...record.name.split('/'));
      await fs.mkdir(path.dirname(file), { recursive: true });
      await pipeline(await this.open(runId, { ...record, name: `${folder}/${record.name}` }), createWriteStream(file));
    }
  }

  /**
   * One published object as a stream, checked against its record first (missing or replaced since:
   * an error naming it); a read that breaks off or fails the store's digest check errors the stream.
   */
  async open(runId: string, record: ArtifactRecord): Promise<Readable> {
    const name = artifactObjectName(runId, record.name);
    const result = await this.objects.get(name);
    if (!result) throw new ArtifactUnavailableError(`${this.bucket}/${name} is missing: it was published (${record.bytes} bytes) and has been deleted since`);
    if (result.info.digest !== record.digest) {
      await result.data.cancel().catch(() => undefined);
      throw new ArtifactUnavailableError(`${this.bucket}/${name} changed since it was published (digest ${result.info.digest}, recorded ${record.digest}): publish the run again`);
    }
    // The store settles `error` when the last chunk arrives, which may be before it was read: end after both.
    const out = new PassThrough();
    const source = Readable.fromWeb(result.data as import('node:stream/web').ReadableStream<Uint8Array>);
    const drained = new Promise<void>((resolve, reject) => source.once('end', resolve).once('error', reject));
    source.pipe(out, { end: false });
    Promise.all([result.error, drained]).then(
      ([error]) => (error ? out.destroy(new Error(`cannot read ${this.bucket}/${name}: ${error.message}`)) : out.end()),
      (error: Error) => out.destroy(new Error(`cannot read ${this.bucket}/${name}: ${error.message}`)),
    );
    return out;
  }

  /** The objects of a run, by name (names relative to the run). */
  async list(runId: string): Promise<ArtifactRecord[]> {
    const prefix = artifactRunPrefix(runId);
    return (await this.objects.list())
      .filter((info) => !info.deleted && info.name.startsWith(prefix))
      .map((info) => toRecord(info, info.name.slice(prefix.length)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Deletes every object of a run; returns how many there were. */
  async deleteRun(runId: string): Promise<number> {
    const records = await this.list(runId);
    for (const record of records) await this.objects.delete(artifactObjectName(runId, record.name));
    return records.length;
  }

  private async putStream(runId: string, name: string, data: ReadableStream<Uint8Array>): Promise<ArtifactRecord> {
    const info = await this.objects.put({ name: artifactObjectName(runId, name) }, data);
    return toRecord(info, name);
  }
}

function toRecord(info: ObjectInfo, name: string): ArtifactRecord {
  return { name, bytes: info.size, digest: info.digest };
}

async function failed(error: Promise<Error | null>, what: string): Promise<void> {
  const e = await error;
  if (e) throw new Error(`cannot read ${what}: ${e.message}`);
}
