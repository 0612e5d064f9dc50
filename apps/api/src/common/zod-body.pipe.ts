import { BadRequestException, PipeTransform } from '@nestjs/common';
import { z } from 'zod';

/** Validates a request body with the same zod schema the bus uses; a 400 names every bad field. */
export class ZodBodyPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.output<S> {
    if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidFields([{ field: '(body)', message: 'request body must be a JSON object' }]);
    }
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw invalidFields(result.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message })));
  }
}

export interface FieldError {
  field: string;
  message: string;
}

/** A 400 whose message names each bad field, with the same list in `errors` for programs. */
export function invalidFields(errors: FieldError[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  });
}

/** The OpenAPI description of a zod schema, so the docs come from the schema that validates. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}
