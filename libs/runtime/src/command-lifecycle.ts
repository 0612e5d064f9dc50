import { applyDecorators, CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EventPattern } from '@nestjs/microservices';
import { defer, lastValueFrom, Observable } from 'rxjs';
import { BusClient, BusConnection, EventHandlerOptions, JetStreamContext, PermanentError } from '@featx/bus';
import { commandFinishedEvent, MessageContract } from '@featx/contracts';
import { DatasetInputError } from '@featx/datasets';
import { CommandsRepository } from '@featx/db';
import { BUS } from './tokens';

const COMMAND_CONTRACT = 'featx:command-contract';
const MAX_DELIVER = 5;

type Command = { v: number; id?: string } & Record<string, unknown>;

/**
 * Declares a command handler: `@EventPattern` on the command's contract (commands stream) plus the
 * command's life, the same for every kind: marked running, handled, then succeeded (with the
 * handler's result) or failed (with the reason) in the commands table and as a
 * `commands.finished` event. A bad request fails at once; a passing fault (database down) is
 * retried with backoff and fails the command only when the retries are spent.
 */
export function CommandPattern(contract: MessageContract, options: EventHandlerOptions): MethodDecorator {
  return applyDecorators(
    EventPattern(contract.name, { maxDeliver: MAX_DELIVER, ackWaitMs: 60000, ...options }),
    SetMetadata(COMMAND_CONTRACT, contract),
    UseInterceptors(CommandLifecycle),
  );
}

@Injectable()
export class CommandLifecycle implements NestInterceptor {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly client: BusClient,
    private readonly reflector: Reflector,
    @Inject(BUS) private readonly bus: BusConnection,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const contract = this.reflector.get<MessageContract>(COMMAND_CONTRACT, context.getHandler());
    const rpc = context.switchToRpc();
    return defer(() => this.run(contract, rpc.getData<Command>(), rpc.getContext<JetStreamContext>(), () => lastValueFrom(next.handle(), { defaultValue: undefined })));
  }

  private async run(contract: MessageContract, command: Command, context: JetStreamContext, handle: () => Promise<unknown>): Promise<unknown> {
    const { v: _version, id: givenId, ...options } = command;
    const id = givenId ?? `${this.bus.names.streams.commands}:${context.message.streamSequence}`;
    await this.commands.markRunning(id, contract.name, options);
    try {
      const result = ((await handle()) ?? {}) as Record<string, unknown>;
      await this.commands.markFinished(id, 'succeeded', { result });
      await this.announce(id, contract, 'succeeded', result, null);
      return result;
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof DatasetInputError || error instanceof PermanentError) {
        await this.commands.markFinished(id, 'failed', { error: message });
        await this.announce(id, contract, 'failed', null, message);
        return undefined;
      }
      if (context.getDeliveryCount() >= MAX_DELIVER) {
        await this.commands.markFinished(id, 'failed', { error: `gave up after ${context.getDeliveryCount()} attempts: ${message}` }).catch(() => undefined);
      }
      throw error;
    }
  }

  private announce(commandId: string, contract: MessageContract, status: 'succeeded' | 'failed', result: Record<string, unknown> | null, error: string | null) {
    return this.client.dispatch(commandFinishedEvent, { v: 1, commandId, type: contract.name, status, result, error }).catch(() => undefined);
  }
}
