import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveLine } from './progress-bar';

/**
 * Follows work the API is doing: fetches its state, hands each one to `onState` (which draws it on
 * the live line) and fetches again after `intervalMs` while `onState` returns true. Should a fetch
 * fail, the live line is finished first, so the last state shown stays on its own line above the error.
 */
export async function followLive<T>(line: LiveLine, fetch: () => Promise<T>, intervalMs: number, onState: (state: T) => boolean): Promise<T> {
  let state = await fetch();
  try {
    while (onState(state)) {
      await sleep(intervalMs);
      state = await fetch();
    }
  } catch (error) {
    line.finish();
    throw error;
  }
  return state;
}
