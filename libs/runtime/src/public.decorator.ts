import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'featx:public';

/** Marks a controller or route as reachable without the API token (health checks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
