import { deadLetterTopicName } from '@omnibus/core';
import type { Command } from 'commander';
import { bodyLine } from '../body-text.js';
import type { CommandContext } from '../context.js';
import type { DeadLetterView } from '../dead-letters/dead-letter.js';
import { look, releaseByClosing, type ScanTimingFlags } from '../dead-letters/look.js';
import { CommandFailed } from '../exit-codes.js';
import { withTimings } from './dlq-options.js';
import type { Runner } from './runner.js';

interface ShowFlags extends ScanTimingFlags {
  readonly json?: boolean;
}

export function dlqShowCommand(dlq: Command, run: Runner): void {
  const command = dlq
    .command('show')
    .description('show one dead letter: headers, reason, error with its stack, body (it is put back)')
    .argument('<topic>', 'the topic whose dead letter to show (reads <topic>.dlq)')
    .argument('<message-id>', 'the message id (one per group that dead-lettered it)')
    .option('--json', 'print JSON: { deadLetters: [...] }');
  withTimings(command).action(run<[string, string], ShowFlags>(show));
}

async function show(context: CommandContext, flags: ShowFlags, topic: string, id: string): Promise<void> {
  const deadLetterTopic = deadLetterTopicName(topic);
  const bus = await context.openBus();
  let letters: DeadLetterView[];
  try {
    const looked = await look(bus, deadLetterTopic, { ...flags, signal: context.io.interrupt, onError: (error) => context.say(`warning: ${error.message}`) }, (view) => view.id === id);
    await releaseByClosing(looked);
    letters = looked.kept.map((k) => k.view);
  } finally {
    await bus.close().catch(() => {});
  }
  if (letters.length === 0) throw new CommandFailed(`no dead letter with id ${id} in ${deadLetterTopic}`);
  if (flags.json) {
    context.print(JSON.stringify({ deadLetters: letters }));
    return;
  }
  const s = context.out;
  context.print(
    letters
      .map((l) =>
        [
          `${s.bold('id')}              ${l.id}${l.key === undefined ? '' : `  key ${l.key}`}`,
          `${s.bold('original topic')}  ${l.originalTopic ?? '-'}`,
          `${s.bold('group')}           ${l.group ?? '-'}`,
          `${s.bold('reason')}          ${l.reason ?? '-'} after ${l.attempts ?? '?'} attempt(s)`,
          `${s.bold('failed')}          first ${l.firstFailureAt ?? '-'}, last ${l.lastFailureAt ?? '-'}`,
          `${s.bold('error')}           ${l.error ? s.red(`${l.error.name}: ${l.error.message}`) : '-'}`,
          ...(l.error?.stack ? [s.dim(l.error.stack.split('\n').map((line) => `                ${line}`).join('\n'))] : []),
          s.bold('headers'),
          ...Object.entries(l.headers).map(([name, value]) => `  ${name}: ${value}`),
          `${s.bold('body')} (${l.bodyBytes} bytes)`,
          `  ${bodyLine(l.body)}`,
        ].join('\n'),
      )
      .join('\n\n'),
  );
}
