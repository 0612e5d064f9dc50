import { promises as fs } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { Prediction, PredictResponse, TestTimeAugment } from '@featx/contracts';
import { DataRoots, DatasetInputError, isImageFileName, isSkipped, walkFiles } from '@featx/datasets';
import { meanProbabilities, prepareInputsInPlace } from '@featx/learning';
import { DATA_ROOTS } from '@featx/runtime';
import { decodeImage, DecodedImage, mirrorImage } from '@featx/vision';
import { invalidFields } from '../common/zod-body.pipe';
import { Classifier, TrainedModelsService } from './trained-models.service';

/** Images per forward pass; a request of thousands of images goes through in such batches. */
const BATCH = 16;
/** Images one request may name (folders included), to bound the work of one request. */
export const MAX_IMAGES_PER_REQUEST = 10000;

export interface ImageInput {
  /** What the caller called it: its path, or the uploaded file's name. */
  name: string;
  /** A path inside the data roots, or the uploaded bytes. */
  source: string | Uint8Array;
}

/**
 * Classifies new images with a trained run: the same decoding and preprocessing as extraction,
 * then the network, then the head. An unreadable image gets its reason; the others go on.
 * With test-time augmentation `hflip`, each image's mirror goes through the network and the head
 * too, and the two probability vectors are averaged: by default where the model was selected and
 * evaluated that way (its manifest's `testTimeAugment`), else when asked. A model of several heads
 * (an ensemble `--head auto` chose) averages their probabilities, each head on its own preparation.
 */
@Injectable()
export class PredictionsService {
  constructor(
    private readonly models: TrainedModelsService,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
  ) {}

  /** Files and folders (walked for images) named by the client, confined to the data roots. */
  async imagesAt(paths: string[]): Promise<ImageInput[]> {
    const images: ImageInput[] = [];
    for (const [index, input] of paths.entries()) {
      let resolved;
      try {
        resolved = await this.roots.resolve(input);
      } catch (error) {
        if (error instanceof DatasetInputError) throw invalidFields([{ field: `paths.${index}`, message: error.message }]);
        throw error;
      }
      const stat = await fs.stat(resolved.absolutePath);
      if (stat.isDirectory()) {
        for await (const entry of walkFiles(resolved.absolutePath, { roots: this.roots })) {
          if (!isSkipped(entry)) images.push({ name: `${input.replace(/\/$/, '')}/${entry.relativePath}`, source: entry.absolutePath });
          if (images.length > MAX_IMAGES_PER_REQUEST) break;
        }
      } else if (isImageFileName(resolved.absolutePath)) {
        images.push({ name: input, source: resolved.absolutePath });
      } else {
        throw invalidFields([{ field: `paths.${index}`, message: `"${input}" is not an image file (by its name) nor a folder` }]);
      }
      if (images.length > MAX_IMAGES_PER_REQUEST) throw invalidFields([{ field: 'paths', message: `more than ${MAX_IMAGES_PER_REQUEST} images in one request; split it` }]);
    }
    return images;
  }

  async predict(runId: string, images: ImageInput[], asked?: TestTimeAugment): Promise<PredictResponse> {
    const model = await this.models.get(runId);
    const tta = asked ?? model.manifest.testTimeAugment;
    const predictions: Prediction[] = [];
    for (let start = 0; start < images.length; start += BATCH) predictions.push(...(await this.predictBatch(model, images.slice(start, start + BATCH), tta)));
    return { runId, tta, classes: model.manifest.classes, predictions };
  }

  private async predictBatch(model: Classifier, images: ImageInput[], tta: TestTimeAugment): Promise<Prediction[]> {
    const decoded = await Promise.all(
      images.map((image) =>
        decodeImage(image.source, { size: model.network.inputSize, sourceName: image.name }).then(
          (pixels): DecodedImage | Error => pixels,
          (error: Error) => error,
        ),
      ),
    );
    const good = decoded.filter((d): d is DecodedImage => !(d instanceof Error));
    let probabilities: Float32Array = new Float32Array(0);
    if (good.length > 0) {
      const inputs = tta === 'hflip' ? [...good, ...good.map(mirrorImage)] : good;
      const extracted = (await model.network.extract(inputs)).data;
      const heads = [{ head: model.head, normalize: model.manifest.config.normalize, standardization: model.standardization }, ...model.members];
      probabilities = meanProbabilities(
        heads.map((member, k) => {
          // The last head may prepare the extracted vectors in place; the others take a copy.
          const features = k === heads.length - 1 ? extracted : extracted.slice();
          prepareInputsInPlace(features, model.manifest.network.dim, member.normalize, member.standardization);
          return member.head.predictProba(features);
        }),
      );
      if (tta === 'hflip') probabilities = averageHalves(probabilities, good.length * model.manifest.classes.length);
    }
    const classes = model.manifest.classes;
    let row = 0;
    return images.map((image, i) => {
      const result = decoded[i];
      if (result instanceof Error) return { image: image.name, label: null, probability: null, probabilities: null, error: result.message };
      const p = probabilities.subarray(row * classes.length, (row + 1) * classes.length);
      row += 1;
      let best = 0;
      for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
      return { image: image.name, label: classes[best], probability: p[best], probabilities: Object.fromEntries(classes.map((c, k) => [c, p[k]])), error: null };
    });
  }
}

/**
 * The mean of the first and second halves of `values` (`half` values each): an image's and its
 * mirror's probabilities. Probabilities rather than feature vectors: the head was trained on one
 * view's vector at a time, and the mean of two vectors is a vector of neither view (its norm and
 * spread shrink, which the power normalization and an MLP's ReLUs do not take linearly); averaged
 * probabilities are the usual test-time ensemble, and still sum to 1.
 */
function averageHalves(values: Float32Array, half: number): Float32Array {
  const mean = new Float32Array(half);
  for (let i = 0; i < half; i++) mean[i] = (values[i]! + values[half + i]!) / 2;
  return mean;
}
