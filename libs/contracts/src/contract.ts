import { z } from 'zod';
import { BusNames } from './names';

/** A message kind: where it travels, its current version and the schema every copy must pass. */
export interface MessageContract<S extends z.ZodType = z.ZodType> {
  /** Stable name used in logs and rejection records, e.g. `datasets.register`. */
  name: string;
  subject: (names: BusNames) => string;
  versions: readonly number[];
  schema: S;
}

export type MessageOf<C extends MessageContract> = z.output<C['schema']>;

/** A core NATS request (not stored in a stream) and the contract its reply must pass. */
export interface RequestContract<S extends z.ZodType = z.ZodType, R extends MessageContract = MessageContract> extends MessageContract<S> {
  reply: R;
}

export type ReplyOf<C extends RequestContract> = MessageOf<C['reply']>;

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** Checks the version first (so an unknown version gets a clear reason) and then the shape. */
export function parseMessage<C extends MessageContract>(contract: C, value: unknown): MessageOf<C> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${contract.name}: expected an object, got ${describe(value)}`);
  }
  const version = (value as { v?: unknown }).v;
  if (!contract.versions.includes(version as number)) {
    throw new ValidationError(
      `${contract.name}: unsupported version ${JSON.stringify(version)} (field "v"; supported: ${contract.versions.join(', ')})`,
    );
  }
  const result = contract.schema.safeParse(value);
  if (!result.success) throw new ValidationError(`${contract.name}: ${formatIssues(result.error)}`);
  return result.data as MessageOf<C>;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? `field "${issue.path.join('.')}"` : 'message'}: ${issue.message}`)
    .join('; ');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  return typeof value;
}
