import { BadRequestException, Get, Headers, Param, PipeTransform, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { AdminController } from '../common/admin-controller.decorator';
import { DEFAULT_THUMBNAIL_SIZE, MAX_THUMBNAIL_SIZE, MIN_THUMBNAIL_SIZE, ThumbnailsService } from './thumbnails.service';

/** What the handler sets on the response itself: its caching headers and a 304. */
interface ThumbnailResponse {
  setHeader(name: string, value: string): void;
  status(code: number): unknown;
}

/** Image ids are positive whole numbers (the images table's bigserial); anything else is a 400 naming the parameter. */
class ImageIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const id = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
    if (!(id >= 1)) throw new BadRequestException(`imageId: "${value}" is not an image id (a positive whole number)`);
    return id;
  }
}

/** `size` of a thumbnail: a whole number of pixels in the allowed range; absent: the default. */
class ThumbnailSizePipe implements PipeTransform<unknown, number> {
  transform(value: unknown): number {
    if (value === undefined || value === '') return DEFAULT_THUMBNAIL_SIZE;
    const size = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
    if (!(size >= MIN_THUMBNAIL_SIZE && size <= MAX_THUMBNAIL_SIZE)) {
      throw new BadRequestException(`size: "${String(value)}" is not a whole number of pixels from ${MIN_THUMBNAIL_SIZE} to ${MAX_THUMBNAIL_SIZE}`);
    }
    return size;
  }
}

@AdminController('images', 'images')
export class ImagesController {
  constructor(private readonly thumbnails: ThumbnailsService) {}

  @Get(':imageId/thumbnail')
  @ApiOperation({ summary: 'A square thumbnail of a dataset image (centre-cropped WebP), made once per content and size and cached by the API' })
  @ApiParam({ name: 'imageId', description: 'the image id, as the dataset, failure and prediction lists give it' })
  @ApiQuery({ name: 'size', required: false, description: `width and height in pixels, ${MIN_THUMBNAIL_SIZE}-${MAX_THUMBNAIL_SIZE}, default ${DEFAULT_THUMBNAIL_SIZE}` })
  @ApiProduces('image/webp')
  @ApiResponse({ status: 200, description: 'The thumbnail; ETag is the image\'s sha256 and the size (If-None-Match: 304)' })
  @ApiResponse({ status: 400, description: 'imageId or size is invalid' })
  @ApiResponse({ status: 403, description: 'The image\'s file resolves outside the data roots (a symlink leading out)' })
  @ApiResponse({ status: 404, description: 'No such image, or its file is missing' })
  @ApiResponse({ status: 422, description: 'The file cannot be read as an image (corrupt, truncated, not an image); the message says why' })
  async thumbnail(
    @Param('imageId', new ImageIdPipe()) imageId: number,
    @Query('size', new ThumbnailSizePipe()) size: number,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: ThumbnailResponse,
  ): Promise<StreamableFile | undefined> {
    const thumbnail = await this.thumbnails.thumbnail(imageId, size);
    // Private: the answer needs the token. no-cache: revalidated each time, since the file may change under the same URL.
    response.setHeader('Cache-Control', 'private, no-cache');
    response.setHeader('ETag', thumbnail.etag);
    if (ifNoneMatch === thumbnail.etag) {
      response.status(304);
      return undefined;
    }
    return new StreamableFile(thumbnail.body, { type: thumbnail.contentType, length: thumbnail.body.length });
  }
}
