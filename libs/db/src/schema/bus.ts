import { sql } from 'drizzle-orm';
import { bigint, bigserial, customType, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, workTimestamps } from './columns';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * Every command sent on the bus (by the API or any NATS client) and what became of it.
 * The API inserts the row as queued before publishing; the service that handles it moves it on.
 */
export const commands = pgTable(
  'commands',
  {
    /** The command's id (a UUID), or `<stream>:<seq>` for a command sent without one. */
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'rejected'] }).notNull(),
    result: jsonb('result').$type<Record<string, unknown>>(),
    error: text('error'),
    ...workTimestamps(),
  },
  (t) => [
    // GET /commands pages newest first by (created_at, id).
    index('commands_created_at_id_idx').on(t.createdAt, t.id),
    // A run the trainer has not taken yet is found by the runs.create command that names it.
    index('commands_run_id_idx').on(sql`(${t.payload}->>'runId')`),
  ],
);

/** Messages a consumer will never process (undecodable, wrong shape, poison), with the reason. */
export const rejectedMessages = pgTable(
  'rejected_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: text('kind', { enum: ['decode', 'validation', 'permanent', 'max-deliveries', 'unknown-subject'] }).notNull(),
    stream: text('stream').notNull(),
    consumer: text('consumer').notNull(),
    subject: text('subject').notNull(),
    streamSequence: bigint('stream_sequence', { mode: 'number' }).notNull(),
    deliveryCount: integer('delivery_count').notNull(),
    reason: text('reason').notNull(),
    /** The first 4 KiB of the message. */
    payload: bytea('payload').notNull(),
    createdAt: createdAt(),
  },
  // A redelivered rejection (the term was lost) is recorded once.
  (t) => [uniqueIndex('rejected_messages_stream_seq_consumer_key').on(t.stream, t.streamSequence, t.consumer)],
);
