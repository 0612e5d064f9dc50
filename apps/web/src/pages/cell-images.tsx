import type { RunImagePrediction } from '@featx/contracts';
import { ApiError } from '../api/client';
import { usePagedApi } from '../api/use-paged-api';
import { Thumbnail } from '../images/thumbnail';
import { ErrorMessage, MorePages } from './common';

const IMAGES_PER_PAGE = 24;

interface CellImagesProps {
  runId: string;
  split: string;
  trueClass: string;
  predictedClass: string;
  /** The cell's count, from the confusion matrix. */
  count: number;
  onClose(): void;
}

/**
 * The images behind one confusion-matrix cell (`GET /runs/:id/predictions`): each one's thumbnail,
 * true and predicted class and the head's probability, a page at a time. A run trained before
 * featx recorded each image's prediction has none: the API's 409 says so.
 */
export function CellImages({ runId, split, trueClass, predictedClass, count, onClose }: CellImagesProps) {
  const query = new URLSearchParams({ split, true: trueClass, predicted: predictedClass });
  const pages = usePagedApi<RunImagePrediction>(`/runs/${runId}/predictions?${query}`, IMAGES_PER_PAGE);
  const notRecorded = pages.error instanceof ApiError && pages.error.status === 409;
  return (
    <section className="cell-images" aria-label={`Images of true ${trueClass}, predicted ${predictedClass}`} data-testid="cell-images">
      <div className="page-header">
        <h3>
          {split} split: true {trueClass}, predicted {predictedClass} ({count} {count === 1 ? 'image' : 'images'})
        </h3>
        <button onClick={onClose}>Close</button>
      </div>
      {notRecorded ? (
        <p role="status" data-testid="cell-images-none">
          {pages.error!.message}
        </p>
      ) : (
        <ErrorMessage error={pages.error} />
      )}
      {pages.loaded && !pages.error && pages.items.length === 0 && <p role="status">No images in this cell.</p>}
      <ul className="image-grid">
        {pages.items.map((image) => (
          <li key={image.imageId} data-testid="cell-image">
            <Thumbnail imageId={image.imageId} alt={image.path} />
            <span className="path">{image.path}</span>
            <span>
              true {image.trueClass}, predicted {image.predictedClass} {(image.probability * 100).toFixed(1)}%
            </span>
          </li>
        ))}
      </ul>
      <MorePages pages={pages} what="images" />
    </section>
  );
}
