import { desc } from 'drizzle-orm';
import type { Rejection, RejectionSink } from '@featx/bus';
import type { Database } from '../database';
import { rejectedMessages } from '../schema';

export type RejectedMessageRow = typeof rejectedMessages.$inferSelect;

/** Where consumers record the messages they will never process. */
export class RejectedMessagesRepository implements RejectionSink {
  constructor(private readonly db: Database) {}

  async record(rejection: Rejection): Promise<void> {
    await this.db
      .insert(rejectedMessages)
      .values({
        kind: rejection.kind,
        stream: rejection.stream,
        consumer: rejection.consumer,
        subject: rejection.subject,
        streamSequence: rejection.streamSequence,
        deliveryCount: rejection.deliveryCount,
        reason: rejection.reason,
        payload: Buffer.from(rejection.payload),
      })
      .onConflictDoNothing();
  }

  async list(limit = 100): Promise<RejectedMessageRow[]> {
    return this.db.select().from(rejectedMessages).orderBy(desc(rejectedMessages.id)).limit(limit);
  }
}
