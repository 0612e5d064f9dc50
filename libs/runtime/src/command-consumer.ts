import { BusConnection, BusConsumer, ConsumerLogger, MessageContext, PermanentError, publish } from '@featx/bus';
import { commandFinishedEvent, MessageContract, MessageOf } from '@featx/contracts';
import { DatasetInputError } from '@featx/datasets';
import { CommandsRepository, RejectedMessagesRepository } from '@featx/db';

const MAX_DELIVER = 5;

type CommandContract = MessageContract & { schema: { _zod: { output: { v: number; id?: string } } } };

export interface CommandConsumerSpec<C extends CommandContract, R extends Record<string, unknown>> {
  bus: BusConnection;
  contract: C;
  durable: string;
  commands: CommandsRepository;
  rejections: RejectedMessagesRepository;
  logger: ConsumerLogger;
  /** Does the work; its result is stored with the command. */
  run: (options: Omit<MessageOf<C>, 'v' | 'id'>, context: MessageContext) => Promise<R>;
  /** Called after a success, e.g. to publish a domain event. */
  after?: (result: R) => Promise<void>;
  ackWaitMs?: number;
}

/**
 * The life of a command, the same for every kind: marked running, run, then succeeded (with
 * its result) or failed (with the reason) in the commands table and as a `commands.finished`
 * event. A bad request fails at once; a passing fault (database down) is retried with backoff
 * and fails the command only when the retries are spent.
 */
export function startCommandConsumer<C extends CommandContract, R extends Record<string, unknown>>(spec: CommandConsumerSpec<C, R>): Promise<BusConsumer<C>> {
  const announce = (commandId: string, status: 'succeeded' | 'failed', result: Record<string, unknown> | null, error: string | null) =>
    publish(spec.bus, commandFinishedEvent, { v: 1, commandId, type: spec.contract.name, status, result, error }).catch(() => undefined);

  return BusConsumer.start(spec.bus, {
    contract: spec.contract,
    stream: spec.bus.names.streams.commands,
    durable: spec.durable,
    rejections: spec.rejections,
    logger: spec.logger,
    maxDeliver: MAX_DELIVER,
    ackWaitMs: spec.ackWaitMs ?? 60000,
    handler: async (command, context) => {
      const { v: _version, id: givenId, ...options } = command as MessageOf<C> & { v: number; id?: string };
      const id = givenId ?? `${spec.bus.names.streams.commands}:${context.streamSequence}`;
      await spec.commands.markRunning(id, spec.contract.name, options);
      try {
        const result = await spec.run(options as Omit<MessageOf<C>, 'v' | 'id'>, context);
        await spec.commands.markFinished(id, 'succeeded', { result });
        await announce(id, 'succeeded', result, null);
        await spec.after?.(result);
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof DatasetInputError || error instanceof PermanentError) {
          await spec.commands.markFinished(id, 'failed', { error: message });
          await announce(id, 'failed', null, message);
          return;
        }
        if (context.deliveryCount >= MAX_DELIVER) {
          await spec.commands.markFinished(id, 'failed', { error: `gave up after ${context.deliveryCount} attempts: ${message}` }).catch(() => undefined);
        }
        throw error;
      }
    },
  });
}
