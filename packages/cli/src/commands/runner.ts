import type { Command } from 'commander';
import { CommandContext, type GlobalFlags } from '../context.js';
import type { CliIo } from '../io.js';

/** Turns a command's action into commander's: `(…arguments, flags, command)` → `(context, flags, …arguments)`. */
export type Runner = <A extends unknown[], F>(action: (context: CommandContext, flags: F, ...args: A) => Promise<void>) => (...commanderArgs: unknown[]) => Promise<void>;

export function runnerFor(io: CliIo): Runner {
  return <A extends unknown[], F>(action: (context: CommandContext, flags: F, ...args: A) => Promise<void>) =>
    async (...commanderArgs: unknown[]) => {
      const command = commanderArgs[commanderArgs.length - 1] as Command;
      const args = commanderArgs.slice(0, -2) as A;
      const flags = command.optsWithGlobals<F & GlobalFlags>();
      await action(new CommandContext(io, flags), flags, ...args);
    };
}
