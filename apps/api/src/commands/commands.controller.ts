import { Get, Param, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { CommandState } from '@featx/contracts';
import { CommandRow, CommandsRepository, RejectedMessagesRepository } from '@featx/db';
import { AdminController } from '../common/admin-controller.decorator';
import { foundOrThrow } from '../common/not-found';
import { queryLimit } from '../common/query-limit';
import { rowView } from '../common/row-view';

/** Commands and what became of them, and the bus messages that were rejected. */
@AdminController('commands')
export class CommandsController {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
  ) {}

  @Get('commands/:id')
  @ApiOperation({ summary: 'A command: queued, running, succeeded (with its result) or failed (with the reason)' })
  async get(@Param('id') id: string): Promise<CommandState> {
    return commandState(foundOrThrow(await this.commands.get(id), 'command', id));
  }

  @Get('rejected-messages')
  @ApiOperation({ summary: 'Bus messages that were rejected (undecodable, invalid, poison), newest first' })
  async rejected(@Query('limit') limit?: string) {
    return (await this.rejections.list(queryLimit(limit, 100))).map(({ payload, ...row }) => ({ ...row, payloadBase64: payload.toString('base64') }));
  }
}

/** The row as its JSON: the timestamps as ISO strings, as JSON.stringify would write them. */
function commandState(row: CommandRow): CommandState {
  return rowView(row, ['id', 'type', 'payload', 'status', 'result', 'error', 'createdAt', 'startedAt', 'finishedAt']);
}
