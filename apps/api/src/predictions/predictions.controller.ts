import { BadRequestException, Body, HttpCode, Post, UploadedFiles, UseInterceptors } from '@nestjs/common';
import { FilesInterceptor } from '@nestjs/platform-express';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { TEST_TIME_AUGMENTS } from '@featx/contracts';
import { AdminController } from '../common/admin-controller.decorator';
import { UuidParam } from '../common/uuid-param.pipe';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { PredictionsService } from './predictions.service';

/** `tta`: none, or hflip = each image and its mirror, probabilities averaged; absent: the model's own (hflip where it was selected that way, else none). */
const ttaSchema = z.enum(TEST_TIME_AUGMENTS).optional();
const predictPathsSchema = z.object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(1000), tta: ttaSchema }).strict();
const predictUploadFieldsSchema = z.object({ tta: ttaSchema }).strict();

/** Files one upload may carry, and their size: larger work goes by path. */
const MAX_UPLOAD_FILES = 256;
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

@AdminController('runs', 'runs')
export class PredictionsController {
  constructor(private readonly service: PredictionsService) {}

  @Post(':id/predict')
  @HttpCode(200)
  @ApiOperation({ summary: 'Classify images (files or folders under the data roots) with a succeeded run: network + head, as at extraction' })
  @ApiBody({ schema: openApiSchema(predictPathsSchema) })
  @ApiResponse({ status: 200, description: '{runId, classes, predictions: [{image, label, probability, probabilities, error}]}' })
  @ApiResponse({ status: 409, description: 'The run has not succeeded' })
  async predictPaths(@UuidParam() id: string, @Body(new ZodBodyPipe(predictPathsSchema)) body: z.infer<typeof predictPathsSchema>) {
    return this.service.predict(id, await this.service.imagesAt(body.paths), body.tta);
  }

  @Post(':id/predict/upload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Classify uploaded images (multipart field "images")' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { images: { type: 'array', items: { type: 'string', format: 'binary' } }, tta: { type: 'string', enum: [...TEST_TIME_AUGMENTS] } } } })
  @UseInterceptors(FilesInterceptor('images', MAX_UPLOAD_FILES, { limits: { fileSize: MAX_UPLOAD_BYTES } }))
  async predictUpload(
    @UuidParam() id: string,
    @UploadedFiles() files: Array<{ originalname: string; buffer: Buffer }> | undefined,
    @Body(new ZodBodyPipe(predictUploadFieldsSchema)) fields: z.infer<typeof predictUploadFieldsSchema>,
  ) {
    if (!files?.length) throw new BadRequestException('images: upload at least one file in the multipart field "images"');
    return this.service.predict(
      id,
      files.map((file) => ({ name: file.originalname, source: new Uint8Array(file.buffer) })),
      fields.tta,
    );
  }
}
