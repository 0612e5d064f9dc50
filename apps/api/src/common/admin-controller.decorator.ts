import { applyDecorators, Controller } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

/**
 * A controller of the admin API: grouped under `tag` in the OpenAPI document, behind the bearer
 * token (ApiTokenGuard), its routes under `path` (none: at the root).
 */
export function AdminController(tag: string, path?: string): ClassDecorator {
  return applyDecorators(ApiTags(tag), ApiBearerAuth(), path === undefined ? Controller() : Controller(path));
}
