import { authorizedHeaders } from './client';

export interface StreamEvent {
  type: string;
  data: unknown;
}

/**
 * Reads one of the API's Server-Sent Event streams with fetch: EventSource cannot send the
 * Authorization header, and the token must not go in the URL. Calls `onEvent` per event until
 * `signal` aborts; a dropped stream is opened again after `retryMs` (the events in between are
 * in the API's GETs, which callers read again on `onOpen`).
 */
export async function followEvents(route: string, onEvent: (event: StreamEvent) => void, signal: AbortSignal, onOpen?: () => void, retryMs = 2000): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch(route, { headers: { ...authorizedHeaders(), accept: 'text/event-stream' }, signal });
      if (!response.ok || !response.body) throw new Error(`${route}: ${response.status}`);
      onOpen?.();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = parseEvent(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
          if (event) onEvent(event);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/** One event's lines (`event:`, `data:`; others ignored), per the SSE format. */
export function parseEvent(block: string): StreamEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  try {
    return { type, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}
