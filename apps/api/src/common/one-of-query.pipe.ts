import { BadRequestException, PipeTransform } from '@nestjs/common';

/**
 * A query parameter that must be one of `values`; absent or empty, `fallback`. The 400 names the
 * parameter and what it may be.
 */
export class OneOfQueryPipe<T extends string> implements PipeTransform<unknown, T | undefined> {
  constructor(
    private readonly name: string,
    private readonly values: readonly T[],
    private readonly fallback?: T,
  ) {}

  transform(value: unknown): T | undefined {
    if (value === undefined || value === '') return this.fallback;
    if (!(this.values as readonly unknown[]).includes(value)) throw new BadRequestException(`${this.name}: "${String(value)}" is not one of ${this.values.join(', ')}`);
    return value as T;
  }
}
