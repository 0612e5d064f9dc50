import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { FeatxConfig } from '@featx/runtime';
import { serveWebConsole } from './web/web-console';

/** HTTP concerns of the API: body size limit, the OpenAPI document at /docs and the web console at /. */
export function configureApi(app: INestApplication, config: FeatxConfig): void {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit: config.api.bodyLimit });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('featx admin API')
      .setDescription('Datasets, feature extraction and training runs. Every mutation is also a bus command (see the README).')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  serveWebConsole(express);
}
