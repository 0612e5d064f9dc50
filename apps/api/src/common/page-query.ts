import { applyDecorators, ArgumentsHost, BadRequestException, Catch, ExceptionFilter, PipeTransform, Query } from '@nestjs/common';
import { ApiQuery, ApiResponse } from '@nestjs/swagger';
import { InvalidCursorError, PageRequest } from '@featx/db';

/** Rows a list page holds unless `limit` says otherwise, and the most it may ask for. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
const MAX_CURSOR_LENGTH = 400;

/**
 * `limit` and `cursor` of a list's query string as a PageRequest: `limit` a whole number from 1 to
 * MAX_PAGE_LIMIT (absent: DEFAULT_PAGE_LIMIT), `cursor` the `next` of the page before. Anything
 * else is a 400 naming the parameter.
 */
export class PageQueryPipe implements PipeTransform<Record<string, unknown>, PageRequest> {
  transform(query: Record<string, unknown>): PageRequest {
    const { limit, cursor } = query ?? {};
    let rows = DEFAULT_PAGE_LIMIT;
    if (limit !== undefined && limit !== '') {
      rows = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : NaN;
      if (!(rows >= 1 && rows <= MAX_PAGE_LIMIT)) throw new BadRequestException(`limit: "${String(limit)}" is not a whole number from 1 to ${MAX_PAGE_LIMIT}`);
    }
    if (cursor === undefined || cursor === '') return { limit: rows };
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) throw new BadRequestException('cursor: expected the `next` of an earlier page, once');
    return { limit: rows, cursor };
  }
}

/** The page a list endpoint is asked for (see PageQueryPipe). */
export function PageQuery(): ParameterDecorator {
  return Query(new PageQueryPipe());
}

/** The OpenAPI description of a keyset-paged list: its two query parameters, the page's shape and its 400. */
export function PagedList(itemsDescription: string): MethodDecorator {
  return applyDecorators(
    ApiQuery({ name: 'limit', required: false, description: `rows per page, 1-${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}` }),
    ApiQuery({ name: 'cursor', required: false, description: 'the `next` of the page before; absent: the first page' }),
    ApiResponse({
      status: 200,
      description: `{items, next}: ${itemsDescription}; next is the cursor of the following page, null on the last`,
      schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } }, next: { type: 'string', nullable: true } } },
    }),
    ApiResponse({ status: 400, description: 'limit is not a whole number from 1 to 1000, or cursor is not one this list returned' }),
  );
}

/** A cursor that decodes but is not one this list wrote (another list's, or edited): a 400, not a 500. */
@Catch(InvalidCursorError)
export class InvalidCursorFilter implements ExceptionFilter {
  catch(error: InvalidCursorError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<{ status(code: number): { json(body: unknown): void } }>()
      .status(400)
      .json({ statusCode: 400, error: 'Bad Request', message: `cursor: ${error.message}` });
  }
}
