import type { CommandRow, CommandsRepository } from '../repositories/commands.repository';

/** The commands table in memory: what the API recorded before publishing, and how each ended. */
export class InMemoryCommandsRepository implements Pick<CommandsRepository, 'insertQueued' | 'markRunning' | 'markFinished' | 'get'> {
  readonly rows = new Map<string, CommandRow>();

  async insertQueued(id: string, type: string, payload: Record<string, unknown>): Promise<void> {
    if (this.rows.has(id)) return;
    this.rows.set(id, { id, type, payload, status: 'queued', result: null, error: null, createdAt: new Date(), startedAt: null, finishedAt: null });
  }

  async markRunning(id: string, type: string, payload: Record<string, unknown>): Promise<void> {
    const row = this.rows.get(id);
    this.rows.set(id, { ...(row ?? { id, type, payload, result: null, createdAt: new Date(), finishedAt: null }), status: 'running', startedAt: new Date(), error: null });
  }

  async markFinished(id: string, status: 'succeeded' | 'failed' | 'rejected', outcome: { result?: Record<string, unknown>; error?: string }): Promise<void> {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, status, result: outcome.result ?? null, error: outcome.error ?? null, finishedAt: new Date() });
  }

  async get(id: string): Promise<CommandRow | undefined> {
    return this.rows.get(id);
  }
}
