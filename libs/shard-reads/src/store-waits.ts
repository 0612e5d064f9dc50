/** A feature store a reader is waiting for: it has not answered since `since`, for `reason`. */
export interface StoreWait {
  store: string;
  since: Date;
  reason: string;
}

export interface RetryOptions {
  /** The first pause after a store did not answer; doubled each time up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /**
   * How long a store may stay silent before the read fails: Infinity (a training run) waits until
   * it comes back; an export gives up so that its client sees a broken download, not a hang.
   */
  maxWaitMs?: number;
  /** Ends a wait early (a process shutting down); the read then fails with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each new attempt: throws to give up (a run cancelled meanwhile). */
  beforeRetry?: () => void;
  /** Clock and pause, for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY = { initialDelayMs: 250, maxDelayMs: 5000 } as const;

/** No answer from a store for longer than the reader's limit: the read fails. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    readonly store: string,
    readonly waitedMs: number,
    reason: string,
  ) {
    super(`feature store "${store}" has not answered for ${Math.round(waitedMs / 1000)} s (${reason}); gave up`);
  }
}

/**
 * The stores a reader is waiting for now, one entry per store however many of its reads are
 * retrying. `onChange` hears the oldest wait (what a run shows) or null once every store answers.
 */
export class StoreWaits {
  private readonly waits = new Map<string, StoreWait>();
  private reported: StoreWait | null = null;

  constructor(private readonly onChange: (wait: StoreWait | null) => void = () => undefined) {}

  /** A read of `store` got no answer: the wait begins now unless it began earlier. */
  noAnswer(store: string, reason: string, now: Date): StoreWait {
    let wait = this.waits.get(store);
    if (!wait) {
      wait = { store, since: now, reason };
      this.waits.set(store, wait);
      this.report();
    }
    return wait;
  }

  /** `store` answered: whatever waited for it is over. */
  answered(store: string): void {
    if (this.waits.delete(store)) this.report();
  }

  /** The wait that began first, or null. */
  get oldest(): StoreWait | null {
    let oldest: StoreWait | null = null;
    for (const wait of this.waits.values()) if (!oldest || wait.since < oldest.since) oldest = wait;
    return oldest;
  }

  private report(): void {
    const oldest = this.oldest;
    if (oldest === this.reported) return;
    this.reported = oldest;
    this.onChange(oldest);
  }
}

/** A pause that ends early, with the signal's reason, when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
