import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from '@nats-io/nats-core';
import { filter, Observable, Subject } from 'rxjs';
import { commandFinishedEvent, decodeMessage, epochFinishedEvent, featureSetProgressEvent, MessageContract, MessageOf, parseMessage, runStatusEvent } from '@featx/contracts';
import type { BusConnection } from '@featx/bus';
import { BUS, JsonLogger, LOGGER } from '@featx/runtime';

/** A bus event the console follows live, tagged with its contract's name. */
export type LiveEvent =
  | { type: 'runs.epoch'; data: MessageOf<typeof epochFinishedEvent> }
  | { type: 'runs.status'; data: MessageOf<typeof runStatusEvent> }
  | { type: 'features.progress'; data: MessageOf<typeof featureSetProgressEvent> }
  | { type: 'commands.finished'; data: MessageOf<typeof commandFinishedEvent> };

const LIVE_CONTRACTS: MessageContract[] = [epochFinishedEvent, runStatusEvent, featureSetProgressEvent, commandFinishedEvent];

/**
 * The run, feature-set and command events of this API's namespace as they are published, for Server-Sent
 * Events. A core NATS subscription (JetStream stores the events too, but the console wants what
 * happens from now on, and a durable consumer per browser tab would outlive the tab); one
 * subscription per subject for the whole API, opened when the first viewer comes, shared by every
 * viewer.
 */
@Injectable()
export class BusEventsService implements OnModuleDestroy {
  private readonly events = new Subject<LiveEvent>();
  private subscriptions?: Subscription[];

  constructor(
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  /** Epoch and status events of one run. */
  run(runId: string): Observable<LiveEvent> {
    this.open();
    return this.events.pipe(filter((event) => (event.type === 'runs.epoch' || event.type === 'runs.status') && event.data.runId === runId));
  }

  /** Progress events of every feature set. */
  featureSets(): Observable<LiveEvent> {
    this.open();
    return this.events.pipe(filter((event) => event.type === 'features.progress'));
  }

  /** The commands.finished event of one command (its result or its error). */
  command(commandId: string): Observable<LiveEvent> {
    this.open();
    return this.events.pipe(filter((event) => event.type === 'commands.finished' && event.data.commandId === commandId));
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions ?? []) subscription.unsubscribe();
    this.events.complete();
  }

  private open(): void {
    if (this.subscriptions) return;
    this.subscriptions = LIVE_CONTRACTS.map((contract) =>
      this.bus.nc.subscribe(contract.subject(this.bus.names), {
        callback: (error, message) => {
          if (error) return this.logger.warn('live event subscription failed', { subject: contract.subject(this.bus.names), error: error.message });
          try {
            this.events.next({ type: contract.name, data: parseMessage(contract, decodeMessage(message.data)) } as LiveEvent);
          } catch (invalid) {
            // A malformed event is the publisher's bug; the viewers lose only that one.
            this.logger.warn('ignored an invalid live event', { subject: message.subject, error: (invalid as Error).message });
          }
        },
      }),
    );
  }
}
