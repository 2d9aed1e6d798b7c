import { CommanderError } from 'commander';
import { isOmnibusError } from '@omnibus/core';
import { BrokerUrl } from './broker-url.js';
import { CommandFailed, ExitCodes, InputError, UsageError, type ExitCode } from './exit-codes.js';
import { describeFailure } from './failure.js';
import { writeLine, type CliIo } from './io.js';
import { buildProgram } from './program.js';

/** Commander's own outcomes that are not mistakes (`commander.help` is help shown for a missing command: usage). */
const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * Run the command line `args` (without `node` and the script) and return the exit code. Never
 * throws and never exits the process: bin.ts sets the exit code.
 */
export async function main(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return ExitCodes.ok;
  } catch (error) {
    return exitFor(error, io, args);
  }
}

function exitFor(error: unknown, io: CliIo, args: readonly string[]): ExitCode {
  if (error instanceof CommanderError) {
    // Commander printed the message (and usage) already.
    return NOT_ERRORS.has(error.code) ? ExitCodes.ok : ExitCodes.usage;
  }
  const url = urlOf(args, io);
  const verbose = args.includes('--verbose') || args.includes('-v');
  if (error instanceof UsageError || isOmnibusError(error, 'CONFIG_INVALID')) {
    writeLine(io.stderr, `error: ${describeFailure(error, url, false)}`);
    writeLine(io.stderr, '(add --help for usage)');
    return ExitCodes.usage;
  }
  if (error instanceof CommandFailed || error instanceof InputError) {
    writeLine(io.stderr, `error: ${url ? url.scrub(error.message) : error.message}`);
    return ExitCodes.failure;
  }
  writeLine(io.stderr, `error: ${describeFailure(error, url, verbose)}`);
  return ExitCodes.failure;
}

/** The URL of this command line, only to scrub what is printed (never to print it). */
function urlOf(args: readonly string[], io: CliIo): BrokerUrl | undefined {
  const index = args.findIndex((a) => a === '--url' || a === '-u');
  const inline = args.find((a) => a.startsWith('--url='))?.slice('--url='.length);
  const value = inline ?? (index === -1 ? undefined : args[index + 1]);
  try {
    return BrokerUrl.from(value, io.env);
  } catch {
    return undefined;
  }
}
