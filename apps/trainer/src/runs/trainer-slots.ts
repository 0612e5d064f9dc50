import { Injectable } from '@nestjs/common';

/**
 * The runs of this trainer that hold a claim but train nothing: `head: auto` runs waiting for their
 * search shares. They do not count against FEATX_TRAINER_CONCURRENCY, so the trainer claims a share
 * (its own run's or another's) in their place: one trainer alone trains its run's shares in turn
 * instead of waiting for shares it would never claim.
 */
@Injectable()
export class TrainerSlots {
  private readonly waiting = new Set<string>();
  private readonly listeners: Array<() => void> = [];

  /** Runs held that train nothing now. */
  get waitingRuns(): number {
    return this.waiting.size;
  }

  /** `listener` is called whenever a run starts waiting (a slot is free: look for work). */
  onSlotFreed(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Runs `wait` with the run counted as waiting, its slot free for other work meanwhile. */
  async whileWaiting<T>(runId: string, wait: () => Promise<T>): Promise<T> {
    this.waiting.add(runId);
    for (const listener of this.listeners) listener();
    try {
      return await wait();
    } finally {
      this.waiting.delete(runId);
    }
  }
}
