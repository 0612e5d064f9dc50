import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandState } from '@featx/contracts';
import type { ApiClient } from './api-client';
import type { LiveLineOptions } from './progress-bar';

const POLL_MS = 300;

/**
 * Polls GET /commands/:id until the command has succeeded, failed or been rejected; on a TTY a
 * spinner shows it is still queued or running, and is cleared before returning.
 */
export async function waitForCommand(api: ApiClient, id: string, stream: NonNullable<LiveLineOptions['stream']> = process.stderr): Promise<CommandState> {
  const spinner = stream.isTTY ? ['|', '/', '-', '\\'] : null;
  let tick = 0;
  for (;;) {
    const state = await api.get<CommandState>(`/commands/${id}`);
    if (state.status !== 'queued' && state.status !== 'running') {
      if (spinner && tick > 0) stream.write('\r\x1b[K');
      return state;
    }
    if (spinner) stream.write(`\r${spinner[tick++ % spinner.length]} ${state.status}…`);
    await sleep(POLL_MS);
  }
}
