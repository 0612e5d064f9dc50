import { getJson } from './client';
import { followEvents } from './event-stream';

/** What a command of the API (POST /datasets, /feature-sets, /runs) came to. */
export interface CommandOutcome {
  status: 'succeeded' | 'failed' | 'rejected';
  result: Record<string, unknown> | null;
  error: string | null;
}

interface CommandState extends Omit<CommandOutcome, 'status'> {
  status: CommandOutcome['status'] | 'queued' | 'running';
}

const FINISHED = ['succeeded', 'failed', 'rejected'];

/**
 * Resolves when the command has finished: its commands.finished event over SSE, or its state read
 * once the stream is open (it may have finished before).
 */
export function waitForCommand(commandId: string, signal?: AbortSignal): Promise<CommandOutcome> {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort());
  return new Promise<CommandOutcome>((resolve, reject) => {
    const finish = (state: CommandState) => {
      if (!FINISHED.includes(state.status)) return;
      controller.abort();
      resolve(state as CommandOutcome);
    };
    void followEvents(
      `/events/commands/${commandId}`,
      (event) => event.type === 'commands.finished' && finish(event.data as CommandState),
      controller.signal,
      () => void getJson<CommandState>(`/commands/${commandId}`, controller.signal).then(finish, (error: Error) => !controller.signal.aborted && reject(error)),
    ).then(() => signal?.aborted && reject(new Error('cancelled')));
  });
}
