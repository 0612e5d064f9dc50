import type { Client } from 'pg';

export interface FinishedCommand {
  status: string;
  error: string | null;
  result: unknown;
}

/**
 * A bus command's record once a service has finished with it (succeeded or failed), read from
 * Postgres: what a spec that publishes a command waits for. Throws when it is still queued or
 * running after `timeoutMs`.
 */
export async function waitForCommand(db: Pick<Client, 'query'>, id: string, timeoutMs = 10000): Promise<FinishedCommand> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<FinishedCommand>('SELECT status, error, result FROM commands WHERE id = $1', [id]);
    if (rows[0] && rows[0].status !== 'queued' && rows[0].status !== 'running') return rows[0];
    if (Date.now() > deadline) throw new Error(`command ${id} did not finish within ${timeoutMs} ms (${rows[0] ? `still ${rows[0].status}` : 'not recorded'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
