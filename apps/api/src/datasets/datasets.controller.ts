import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RegisterDatasetOptions, registerDatasetOptionsSchema } from '@featx/contracts';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { DatasetsService } from './datasets.service';

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('datasets')
export class DatasetsController {
  constructor(private readonly service: DatasetsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Register (or re-scan) a folder of images; published as the datasets.register bus command' })
  @ApiBody({ schema: openApiSchema(registerDatasetOptionsSchema) })
  @ApiResponse({ status: 202, description: 'Command queued; follow it at GET /commands/{commandId}' })
  @ApiResponse({ status: 400, description: 'A field is invalid, or the path is outside the data roots' })
  register(@Body(new ZodBodyPipe(registerDatasetOptionsSchema)) body: RegisterDatasetOptions) {
    return this.service.register(body);
  }

  @Get()
  @ApiOperation({ summary: 'List datasets' })
  list() {
    return this.service.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'A dataset with its image counts per split and class' })
  @ApiResponse({ status: 404, description: 'No such dataset' })
  get(@Param('id', new UuidParamPipe('id')) id: string) {
    return this.service.get(id);
  }
}
