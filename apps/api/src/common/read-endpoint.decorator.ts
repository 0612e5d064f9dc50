import { applyDecorators, Get } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { PagedList } from './page-query';

export interface ListEndpointDocs {
  summary: string;
  /** An optional query parameter that narrows the list (read with UuidQuery). */
  filter?: { name: string; description: string };
}

/** A GET of the controller's collection in keyset pages (see PagedList), optionally narrowed by one query parameter. */
export function ListEndpoint(docs: ListEndpointDocs): MethodDecorator {
  const filter = docs.filter === undefined ? [] : [ApiQuery({ name: docs.filter.name, required: false, description: docs.filter.description })];
  return applyDecorators(Get(), ApiOperation({ summary: docs.summary }), PagedList(docs.summary), ...filter);
}

export interface ReadEndpointDocs {
  summary: string;
  /** The 404's description: which row the id did not name. */
  notFound: string;
}

/** A GET of one row (or what hangs off it) by the UUID in the path: 404 when there is no such row. */
export function ReadEndpoint(path: string, docs: ReadEndpointDocs): MethodDecorator {
  return applyDecorators(Get(path), ApiOperation({ summary: docs.summary }), ApiResponse({ status: 404, description: docs.notFound }));
}
