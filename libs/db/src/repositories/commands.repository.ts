import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../database';
import { commands } from '../schema';
import { afterRow, decodeCursor, Page, PageRequest, toPage } from './keyset-page';
import { rowById } from './table-queries';

export type CommandRow = typeof commands.$inferSelect;
export type CommandStatus = CommandRow['status'];

export class CommandsRepository {
  constructor(private readonly db: Database) {}

  /** The API records a command before publishing it, so its id can be looked up at once. */
  async insertQueued(id: string, type: string, payload: Record<string, unknown>): Promise<void> {
    await this.db.insert(commands).values({ id, type, payload, status: 'queued' }).onConflictDoNothing();
  }

  /** A handler starts a command; commands from plain NATS clients have no row yet. */
  async markRunning(id: string, type: string, payload: Record<string, unknown>): Promise<void> {
    await this.db
      .insert(commands)
      .values({ id, type, payload, status: 'running', startedAt: sql`now()` })
      .onConflictDoUpdate({ target: commands.id, set: { status: 'running', startedAt: sql`now()`, error: null } });
  }

  async markFinished(id: string, status: Extract<CommandStatus, 'succeeded' | 'failed' | 'rejected'>, outcome: { result?: Record<string, unknown>; error?: string }): Promise<void> {
    await this.db
      .update(commands)
      .set({ status, result: outcome.result ?? null, error: outcome.error ?? null, finishedAt: sql`now()` })
      .where(eq(commands.id, id));
  }

  /** A page of the commands, newest first. */
  async list(page: PageRequest): Promise<Page<CommandRow>> {
    const rows = await this.db
      .select()
      .from(commands)
      .where(page.cursor === undefined ? undefined : afterRow(commands, commands.id, [commands.createdAt, commands.id], decodeCursor(page.cursor, 'string'), true))
      .orderBy(desc(commands.createdAt), desc(commands.id))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.id);
  }

  get(id: string): Promise<CommandRow | undefined> {
    return rowById(this.db, commands, id);
  }
}
