import { Command, CommanderError } from 'commander';
import { ApiClient, CliError, defaultToken } from './api-client';
import { commandsCommand } from './commands/commands.command';
import { datasetsCommand } from './commands/datasets.command';
import { extractCommand } from './commands/extract.command';
import { featuresCommand } from './commands/features.command';
import { storesCommand } from './commands/stores.command';
import { predictCommand } from './commands/predict.command';
import { runsCommand } from './commands/runs.command';
import { trainCommand } from './commands/train.command';
import type { LiveProgressIo } from './progress-bar';

/** Builds the `featx` program; `print`, `printError` and `io` are injectable so tests can read what it prints. */
export function buildCli(
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  printError: (text: string) => void = (text) => process.stderr.write(`${text}\n`),
  io: CliIo = {},
): Command {
  const program = new Command('featx')
    .description('featx: deep-learning features for image datasets too large for memory')
    .option('--api-url <url>', 'admin API address', process.env.FEATX_API_URL ?? 'http://127.0.0.1:3000')
    .option('--token <token>', 'API token (default: FEATX_API_TOKEN, or the token file the API generated)')
    .exitOverride()
    .showHelpAfterError();

  const client = async () => {
    const { apiUrl, token } = program.opts<{ apiUrl: string; token?: string }>();
    return new ApiClient({ url: apiUrl, token: token ?? (await defaultToken()) });
  };
  program.addCommand(datasetsCommand(client, print));
  program.addCommand(extractCommand(client, print, printError, io));
  program.addCommand(featuresCommand(client, print));
  program.addCommand(storesCommand(client, print));
  program.addCommand(trainCommand(client, print, printError, io));
  program.addCommand(runsCommand(client, print, printError));
  program.addCommand(predictCommand(client, print));
  program.addCommand(commandsCommand(client, print));
  return program;
}

/** Streams a command may draw on: the live progress bar (a TTY gets it redrawn in place). */
export type CliIo = LiveProgressIo;

/** Runs the CLI; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(argv: string[], print?: (text: string) => void, printError: (text: string) => void = (t) => process.stderr.write(`${t}\n`), io: CliIo = {}): Promise<number> {
  const program = buildCli(print, printError, io);
  program.configureOutput({ writeErr: (text) => printError(text.trimEnd()) });
  inheritSettings(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    printError(`featx: ${error instanceof CliError ? error.message : (error as Error).stack ?? String(error)}`);
    return 1;
  }
}

/**
 * `addCommand` does not pass the program's settings down (only `.command()` does): without this a
 * usage error in a subcommand (`--pool median`) would exit the process instead of returning 2, and
 * its message would bypass `printError`.
 */
function inheritSettings(command: Command): void {
  for (const sub of command.commands) {
    sub.copyInheritedSettings(command);
    inheritSettings(sub);
  }
}
