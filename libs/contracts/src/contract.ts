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

/**
 * Version 1 of a message kind: its fields after `v: 1`, the version parseMessage checks before the
 * shape. One place says the version, so `versions` and the `v` literal cannot disagree.
 */
export function messageV1<F extends z.ZodRawShape>(name: string, subject: (names: BusNames) => string, fields: F) {
  return { name, subject, versions: [1], schema: z.object({ v: z.literal(1), ...fields }) } satisfies MessageContract;
}

/**
 * Version 1 of a command: its options (the REST body, where there is one) with `v: 1` and the
 * command's id, which dedupes the publish and names the command's row; JSON senders may omit it.
 */
export function commandV1<S extends z.ZodRawShape, C extends z.core.$ZodObjectConfig>(name: string, subject: (names: BusNames) => string, options: z.ZodObject<S, C>) {
  return { name, subject, versions: [1], schema: options.extend({ v: z.literal(1), id: z.string().uuid().optional() }) } satisfies MessageContract;
}

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
