import { applyDecorators, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { openApiSchema } from './zod-body.pipe';

export interface CommandEndpointDocs {
  summary: string;
  /** The zod schema of the body, the one ZodBodyPipe validates it with. */
  body: z.ZodType;
  /** What the 202 holds and where to follow the command. */
  queued: string;
  /** What makes the request a 400. */
  invalid: string;
}

/**
 * A POST that records a bus command and publishes it: 202 once it is queued (the work happens in
 * another service), 400 when a field is invalid, with nothing recorded.
 */
export function CommandEndpoint(docs: CommandEndpointDocs): MethodDecorator {
  return applyDecorators(
    Post(),
    HttpCode(202),
    ApiOperation({ summary: docs.summary }),
    ApiBody({ schema: openApiSchema(docs.body) }),
    ApiResponse({ status: 202, description: docs.queued }),
    ApiResponse({ status: 400, description: docs.invalid }),
  );
}
