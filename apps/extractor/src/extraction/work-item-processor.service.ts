import { Inject, Injectable } from '@nestjs/common';
import { BusClient, BusConnection, PermanentError } from '@featx/bus';
import { extractWorkItem, featureBatch, FeatureDtype, ImageRef, MessageOf } from '@featx/contracts';
import { DataRoots, mapConcurrent, resolveRootRef } from '@featx/datasets';
import { FeatureSetsRepository } from '@featx/db';
import { decodeImage, DecodedImage, FeatureExtractor, mirrorImage } from '@featx/vision';
import { BUS, DATA_ROOTS, JsonLogger, LOGGER } from '@featx/runtime';
import { cutFeatureBatches, ExtractedRow } from './feature-batches';
import { NetworkCache } from './network-cache.service';

type WorkItem = MessageOf<typeof extractWorkItem>;

/** One forward pass's input: an image, or (an hflip set's training image) its mirror. */
interface NetworkInput {
  item: ImageRef;
  image: DecodedImage;
  augmented: boolean;
}

/**
 * Images of a work item handed to sharp at once. All of them: sharp decodes on libuv's thread
 * pool without needing this (blocked) thread, so while another item runs through the network the
 * next one decodes completely, instead of a few images per turn of the event loop.
 */
const DECODE_CONCURRENCY = 256;
/** Images of a work item a fresh ONNX export is checked on. */
const PARITY_IMAGES = 4;

/**
 * One work item: decode its images, run them through the network, publish the vectors as
 * feature batches. An unreadable image becomes a failure with its reason; the others go on.
 * Forward passes take turns (one network, one core each), while the next item decodes meanwhile.
 */
@Injectable()
export class WorkItemProcessor {
  private inference: Promise<unknown> = Promise.resolve();
  /** int8 sets whose quantization this process has recorded. */
  private readonly recordedQuantization = new Set<string>();

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly networks: NetworkCache,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(BUS) private readonly bus: BusConnection,
    private readonly client: BusClient,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async process(work: WorkItem, context: { working(): void }): Promise<{ stored: number; failed: number }> {
    const set = await this.featureSets.get(work.featureSetId);
    if (!set) throw new PermanentError(`feature set ${work.featureSetId} does not exist`);
    if (set.status === 'failed') throw new PermanentError(`feature set ${set.id} has failed: ${set.error}`);
    const network = await this.networks.get(set, (size) => this.parityImages(work.items, size)).catch(async (error: Error) => {
      // Every work item of the set would fail the same way: fail the set once, with the reason.
      const reason = `cannot load the network ${set.model}: ${error.message}`;
      await this.featureSets.markFailed(set.id, reason);
      throw new PermanentError(reason);
    });
    if (network.quantization && !this.recordedQuantization.has(set.id)) {
      await this.featureSets.recordQuantization(set.id, { ...network.quantization });
      this.recordedQuantization.add(set.id);
    }

    const failures: Array<{ imageId: number; reason: string }> = [];
    const decoded: Array<{ item: ImageRef; image: DecodedImage }> = [];
    for await (const result of mapConcurrent(work.items, DECODE_CONCURRENCY, (item) => this.decode(item, network.inputSize))) {
      if ('reason' in result) failures.push({ imageId: result.item.imageId, reason: result.reason });
      else decoded.push(result);
    }
    context.working();

    // An hflip set: each image's mirror right after it, so that both go in one batch. Training
    // mirrors are extra training rows; validation and evaluation mirrors are what the trainer
    // averages with their images (test-time augmentation in selection and evaluation).
    const inputs = decoded.flatMap(({ item, image }): NetworkInput[] =>
      set.augment === 'hflip' ? [{ item, image, augmented: false }, { item, image: mirrorImage(image), augmented: true }] : [{ item, image, augmented: false }],
    );
    const { rows, vectors } = await this.exclusively(() => this.infer(inputs, network, context));
    const parts = cutFeatureBatches(rows, vectors, network.dim, set.dtype as FeatureDtype, this.bus.maxPayload);
    if (parts.length === 0) parts.push({ imageIds: [], labels: [], splits: [], vectors: new Uint8Array(0) });
    for (const [index, part] of parts.entries()) {
      await this.client.dispatch(
        featureBatch,
        { v: 1, featureSetId: set.id, workId: work.workId, part: index, dtype: set.dtype as FeatureDtype, dim: network.dim, ...part, failures: index === 0 ? failures : [] },
        { msgId: `${work.workId}:${index}` },
      );
    }
    return { stored: decoded.length, failed: failures.length };
  }

  private async decode(item: ImageRef, size: [number, number]): Promise<{ item: ImageRef; image: DecodedImage } | { item: ImageRef; reason: string }> {
    try {
      const file = await resolveRootRef(this.roots, { root: item.root, path: item.path });
      return { item, image: await decodeImage(file.absolutePath, { size }) };
    } catch (error) {
      return { item, reason: (error as Error).message };
    }
  }

  private async parityImages(items: readonly ImageRef[], size: [number, number]): Promise<DecodedImage[]> {
    const images: DecodedImage[] = [];
    for (const item of items) {
      if (images.length === PARITY_IMAGES) break;
      const result = await this.decode(item, size);
      if ('image' in result) images.push(result.image); // an unreadable image fails later, in its own right
    }
    return images;
  }

  private async infer(inputs: NetworkInput[], network: FeatureExtractor, context: { working(): void }) {
    const vectors = new Float32Array(inputs.length * network.dim);
    const rows: ExtractedRow[] = [];
    for (let start = 0; start < inputs.length; start += network.batchSize) {
      const chunk = inputs.slice(start, start + network.batchSize);
      const features = await network.extract(chunk.map((d) => d.image));
      vectors.set(features.data, start * network.dim);
      chunk.forEach((d, k) => rows.push({ item: d.item, augmented: d.augmented, offset: (start + k) * network.dim }));
      context.working();
    }
    return { rows, vectors };
  }

  /** Runs forward passes one at a time in this process. */
  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const run = this.inference.then(work, work);
    this.inference = run.catch(() => undefined);
    return run;
  }
}

