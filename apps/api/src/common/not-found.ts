import { NotFoundException } from '@nestjs/common';

/** The row looked up, or a 404 `<what> <id> not found` when there is none. */
export function foundOrThrow<T>(row: T | null | undefined, what: string, id: string): T {
  if (row === null || row === undefined) throw new NotFoundException(`${what} ${id} not found`);
  return row;
}
