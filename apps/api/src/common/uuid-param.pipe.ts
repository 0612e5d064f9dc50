import { BadRequestException, Param, PipeTransform, Query } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Route ids are UUIDs; anything else is a 400 naming the parameter, not a database error. */
export class UuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly name = 'id') {}

  transform(value: string): string {
    if (!UUID.test(value)) throw new BadRequestException(`${this.name}: "${value}" is not a UUID`);
    return value.toLowerCase();
  }
}

/** An optional UUID in the query string: absent stays undefined, anything else must be a UUID. */
export class OptionalUuidQueryPipe implements PipeTransform<string | undefined, string | undefined> {
  private readonly uuid: UuidParamPipe;
  constructor(name: string) {
    this.uuid = new UuidParamPipe(name);
  }

  transform(value: string | undefined): string | undefined {
    return value === undefined || value === '' ? undefined : this.uuid.transform(value);
  }
}

/** A route parameter that must be a UUID (see UuidParamPipe). */
export function UuidParam(name = 'id'): ParameterDecorator {
  return Param(name, new UuidParamPipe(name));
}

/** An optional query parameter that must be a UUID when given (see OptionalUuidQueryPipe). */
export function UuidQuery(name: string): ParameterDecorator {
  return Query(name, new OptionalUuidQueryPipe(name));
}
