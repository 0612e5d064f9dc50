import { Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { epochFinishedEvent, MessageOf, runStatusEvent } from '@featx/contracts';

export type EpochFinished = Omit<MessageOf<typeof epochFinishedEvent>, 'v'>;
export type RunStatusChange = MessageOf<typeof runStatusEvent>['status'];

/**
 * The events a trainer announces about its runs. Best effort: the database holds the record, so a
 * run never fails because an event could not be published.
 */
@Injectable()
export class RunEvents {
  constructor(private readonly client: BusClient) {}

  async epochFinished(event: EpochFinished): Promise<void> {
    await this.client.dispatch(epochFinishedEvent, { v: 1, ...event }).catch(() => undefined);
  }

  async statusChanged(runId: string, status: RunStatusChange, error: string | null): Promise<void> {
    await this.client.dispatch(runStatusEvent, { v: 1, runId, status, error }).catch(() => undefined);
  }
}
