import { Command, Option } from 'commander';
import { asyncApiCommand } from './commands/asyncapi.js';
import { dlqListCommand } from './commands/dlq-list.js';
import { dlqPurgeCommand } from './commands/dlq-purge.js';
import { dlqReplayCommand } from './commands/dlq-replay.js';
import { dlqShowCommand } from './commands/dlq-show.js';
import { doctorCommand } from './commands/doctor.js';
import { publishCommand } from './commands/publish.js';
import { runnerFor } from './commands/runner.js';
import { statsCommand } from './commands/stats.js';
import { tailCommand } from './commands/tail.js';
import type { CliIo } from './io.js';
import { collect } from './parse-number.js';

export const CLI_VERSION = '0.1.0';

/** The whole command line, as commander sees it. Parsing errors throw (exitOverride): main maps them to exit code 2. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('omnibus')
    .description('Omnibus on any broker: publish, tail, stats, and inspect and replay dead letters; AsyncAPI from topic definitions')
    .version(CLI_VERSION, '-V, --version')
    .addOption(new Option('-u, --url <url>', 'broker URL (default: $OMNIBUS_URL); its scheme picks the transport: amqp://, kafka://, redis://, nats://, memory://'))
    .option('-o, --option <name=value>', 'a transport option, repeatable (e.g. --option prefix=staging.)', collect, [])
    .option('-v, --verbose', 'log everything the transport says, and stacks of errors')
    .option('-q, --quiet', 'log nothing but errors of the command itself')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .addHelpText('after', '\nExit codes: 0 done, 1 failed (broker, validation, interrupted), 2 bad usage.\nThe URL is never printed with its password.');
  const run = runnerFor(io);
  publishCommand(program, run);
  tailCommand(program, run);
  statsCommand(program, run);
  const dlq = program.command('dlq').description('dead letters: list, show, replay, purge');
  dlqListCommand(dlq, run);
  dlqShowCommand(dlq, run);
  dlqReplayCommand(dlq, run);
  dlqPurgeCommand(dlq, run);
  asyncApiCommand(program, run);
  doctorCommand(program, run);
  return program;
}
