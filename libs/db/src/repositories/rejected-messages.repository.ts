import { desc, lt } from 'drizzle-orm';
import type { Rejection, RejectionSink } from '@featx/bus';
import type { Database } from '../database';
import { rejectedMessages } from '../schema';
import { decodeCursor, Page, PageRequest, toPage } from './keyset-page';

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

  /** A page of the rejected messages, newest first. */
  async list(page: PageRequest): Promise<Page<RejectedMessageRow>> {
    const rows = await this.db
      .select()
      .from(rejectedMessages)
      .where(page.cursor === undefined ? undefined : lt(rejectedMessages.id, decodeCursor(page.cursor, 'number')))
      .orderBy(desc(rejectedMessages.id))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.id);
  }
}
