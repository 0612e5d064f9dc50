import { timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * Column groups several tables share. Functions, not shared objects: drizzle's column builders
 * belong to the table they are built into.
 */

/** A `timestamp with time zone`: every timestamp featx stores is an instant. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true });

/** When the row was inserted. */
export const createdAt = () => timestamptz('created_at').notNull().defaultNow();

/** A piece of work: recorded when queued, then started and finished (each null until then). */
export const workTimestamps = () => ({
  createdAt: createdAt(),
  startedAt: timestamptz('started_at'),
  finishedAt: timestamptz('finished_at'),
});

/** The row's id: a random UUID unless the writer chose one. */
export const uuidPrimaryKey = () => uuid('id').primaryKey().defaultRandom();

/** The row that owns this one: there is always one, and deleting it deletes this row. */
export const ownedBy = (name: string, owner: () => AnyPgColumn) => uuid(name).notNull().references(owner, { onDelete: 'cascade' });
