import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** `../shared` beside the repository: read in place, never copied into it. */
export const SHARED_DIR = path.resolve(__dirname, '../../../shared');

/** Tests that need ../shared call this; it tells why they are skipped when it is absent. */
export function sharedAvailable(relative = ''): boolean {
  const target = path.join(SHARED_DIR, relative);
  if (existsSync(target)) return true;
  // eslint-disable-next-line no-console
  console.warn(`skipping: ${target} is absent (../shared is read in place and not part of the repository)`);
  return false;
}
