import { Command } from 'commander';
import type { CommandState, RejectedMessageView } from '@featx/contracts';
import { ApiClient } from '../api-client';
import { printHint, table } from '../format';
import { getPage, nextPageHint, withPageOptions } from '../list-pages';

/** `featx commands ls | show | rejected`: the bus commands and what became of them, and the messages consumers rejected. */
export function commandsCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  const commands = new Command('commands').description('bus commands and what became of them; messages the services rejected');

  withPageOptions(commands.command('ls').description('commands, newest first'))
    .option('--json', 'print JSON: {items, next}')
    .action(async (opts) => {
      const page = await getPage<CommandState>(await client(), '/commands', opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      print(table(['id', 'type', 'status', 'created', 'finished', 'error'], page.items.map((c) => [c.id, c.type, c.status, c.createdAt, c.finishedAt ?? '', c.error ?? ''])));
      printHint(print, nextPageHint(page, 'featx commands ls'));
    });

  commands
    .command('show')
    .description('one command: its payload, status and result or reason')
    .argument('<id>', 'command id')
    .action(async (id: string) => print(JSON.stringify(await (await client()).get<CommandState>(`/commands/${encodeURIComponent(id)}`), null, 2)));

  withPageOptions(commands.command('rejected').description('bus messages that were rejected (undecodable, invalid, poison), newest first'))
    .option('--json', 'print JSON: {items, next}')
    .action(async (opts) => {
      const page = await getPage<RejectedMessageView>(await client(), '/rejected-messages', opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      print(table(['id', 'kind', 'subject', 'consumer', 'deliveries', 'at', 'reason'], page.items.map((m) => [m.id, m.kind, m.subject, m.consumer, m.deliveryCount, m.createdAt, m.reason])));
      printHint(print, nextPageHint(page, 'featx commands rejected'));
    });

  return commands;
}
