import { Get, Param } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { CommandState, ListPage, RejectedMessageView } from '@featx/contracts';
import { CommandRow, CommandsRepository, PageRequest, RejectedMessagesRepository } from '@featx/db';
import { AdminController } from '../common/admin-controller.decorator';
import { foundOrThrow } from '../common/not-found';
import { PagedList, PageQuery } from '../common/page-query';
import { rowView } from '../common/row-view';

/** Commands and what became of them, and the bus messages that were rejected. */
@AdminController('commands')
export class CommandsController {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
  ) {}

  @Get('commands')
  @ApiOperation({ summary: 'Commands, newest first, each queued, running, succeeded (with its result) or failed (with the reason)' })
  @PagedList('the commands, each as GET /commands/{id}')
  async list(@PageQuery() page: PageRequest): Promise<ListPage<CommandState>> {
    const { items, next } = await this.commands.list(page);
    return { items: items.map(commandState), next };
  }

  @Get('commands/:id')
  @ApiOperation({ summary: 'A command: queued, running, succeeded (with its result) or failed (with the reason)' })
  async get(@Param('id') id: string): Promise<CommandState> {
    return commandState(foundOrThrow(await this.commands.get(id), 'command', id));
  }

  @Get('rejected-messages')
  @ApiOperation({ summary: 'Bus messages that were rejected (undecodable, invalid, poison), newest first' })
  @PagedList('the rejected messages, each with the first 4 KiB of its payload in base64')
  async rejected(@PageQuery() page: PageRequest): Promise<ListPage<RejectedMessageView>> {
    const { items, next } = await this.rejections.list(page);
    return { items: items.map(({ payload, createdAt, ...row }) => ({ ...row, createdAt: createdAt.toISOString(), payloadBase64: payload.toString('base64') })), next };
  }
}

/** The row as its JSON: the timestamps as ISO strings, as JSON.stringify would write them. */
function commandState(row: CommandRow): CommandState {
  return rowView(row, ['id', 'type', 'payload', 'status', 'result', 'error', 'createdAt', 'startedAt', 'finishedAt']);
}
