import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { CommandState } from '@featx/contracts';
import { CommandRow, CommandsRepository, RejectedMessagesRepository } from '@featx/db';

/** Commands and what became of them, and the bus messages that were rejected. */
@ApiTags('commands')
@ApiBearerAuth()
@Controller()
export class CommandsController {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
  ) {}

  @Get('commands/:id')
  @ApiOperation({ summary: 'A command: queued, running, succeeded (with its result) or failed (with the reason)' })
  async get(@Param('id') id: string): Promise<CommandState> {
    const command = await this.commands.get(id);
    if (!command) throw new NotFoundException(`command ${id} not found`);
    return commandState(command);
  }

  @Get('rejected-messages')
  @ApiOperation({ summary: 'Bus messages that were rejected (undecodable, invalid, poison), newest first' })
  async rejected(@Query('limit') limit?: string) {
    const n = Math.min(Math.max(Number(limit) || 100, 1), 1000);
    return (await this.rejections.list(n)).map(({ payload, ...row }) => ({ ...row, payloadBase64: payload.toString('base64') }));
  }
}

/** The row as its JSON: the timestamps as ISO strings, as JSON.stringify would write them. */
function commandState(row: CommandRow): CommandState {
  return {
    id: row.id,
    type: row.type,
    payload: row.payload,
    status: row.status,
    result: row.result,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}
