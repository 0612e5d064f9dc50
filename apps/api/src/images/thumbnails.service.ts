import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ForbiddenException, Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import sharp from 'sharp';
import { DataRoots, DatasetInputError, PathNotFoundError, resolveRootRef } from '@featx/datasets';
import { DatasetsRepository, ImageRow } from '@featx/db';
import { hashFile, writeFileAtomic } from '@featx/files';
import { CONFIG, DATA_ROOTS, FeatxConfig } from '@featx/runtime';
import { decodeImage, ImageDecodeError } from '@featx/vision';

/** Thumbnail sizes (pixels, square) a client may ask for, and the one it gets unless it asks. */
export const MIN_THUMBNAIL_SIZE = 16;
export const MAX_THUMBNAIL_SIZE = 512;
export const DEFAULT_THUMBNAIL_SIZE = 128;

export interface Thumbnail {
  body: Buffer;
  /** The image's content hash and the size: a changed file is a new thumbnail. */
  etag: string;
  contentType: 'image/webp';
}

/**
 * Square thumbnails of dataset images (centre-cropped, WebP), decoded by the one decode path
 * extraction uses, so a file that fails there fails here with the same reason. Cached on disk under
 * the image's sha256 and the size: the same picture in two datasets is made once, and a file
 * changed since its scan (size or mtime differ from the record) is hashed afresh, so its new
 * content gets a new thumbnail. The file is found through the data roots like any other path.
 */
@Injectable()
export class ThumbnailsService {
  private readonly dir: string;

  constructor(
    private readonly datasets: DatasetsRepository,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(CONFIG) config: FeatxConfig,
  ) {
    this.dir = config.api.thumbnailsDir;
  }

  async thumbnail(imageId: number, size: number): Promise<Thumbnail> {
    const image = await this.datasets.image(imageId);
    if (!image) throw new NotFoundException(`image ${imageId} not found`);
    const file = await this.fileOf(image);
    const sha256 = await this.contentHash(image, file);
    const etag = `"${sha256}-${size}"`;
    const cached = this.cachePath(sha256, size);
    const body = await fs.readFile(cached).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (body) return { body, etag, contentType: 'image/webp' };
    const made = await this.make(image, file, size);
    await fs.mkdir(path.dirname(cached), { recursive: true });
    await writeFileAtomic(cached, made);
    return { body: made, etag, contentType: 'image/webp' };
  }

  /** Where the thumbnail of this content at this size is kept (fanned out by the hash's first byte). */
  cachePath(sha256: string, size: number): string {
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}-${size}.webp`);
  }

  private async fileOf(image: ImageRow & { root: string }): Promise<string> {
    const what = `image ${image.id} (${image.root}:${image.path})`;
    if (image.status === 'missing') throw new NotFoundException(`${what}: the file was gone at the dataset's last scan`);
    try {
      return (await resolveRootRef(this.roots, { root: image.root, path: image.path })).absolutePath;
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new NotFoundException(`${what}: the file does not exist (re-scan the dataset)`);
      if (error instanceof DatasetInputError) throw new ForbiddenException(`${what}: ${error.message}`);
      throw error;
    }
  }

  /** The recorded hash while the file is as the scan saw it (same size and mtime, as the scan compares), else the file's own. */
  private async contentHash(image: ImageRow, file: string): Promise<string> {
    const stat = await fs.stat(file);
    if (stat.size === image.bytes && Math.trunc(stat.mtimeMs) === image.mtimeMs) return image.sha256;
    return hashFile(file, 'sha256');
  }

  private async make(image: ImageRow & { root: string }, file: string, size: number): Promise<Buffer> {
    let pixels;
    try {
      pixels = await decodeImage(file, { size: [size, size], fit: 'cover' });
    } catch (error) {
      if (error instanceof ImageDecodeError) throw new UnprocessableEntityException(`image ${image.id} (${image.root}:${image.path}) cannot be read as an image: ${error.reason}`);
      throw error;
    }
    return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
      .webp({ quality: 80 })
      .toBuffer();
  }
}
