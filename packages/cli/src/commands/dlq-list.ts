import { deadLetterTopicName } from '@omnibus/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import type { DeadLetterView } from '../dead-letters/dead-letter.js';
import { filterOf, matches, type FilterFlags } from '../dead-letters/filter.js';
import { incompleteNote, look, releaseByClosing, type ScanTimingFlags } from '../dead-letters/look.js';
import { cell, table } from '../table.js';
import { withFilters, withTimings } from './dlq-options.js';
import type { Runner } from './runner.js';

interface ListFlags extends FilterFlags, ScanTimingFlags {
  readonly json?: boolean;
}

export function dlqListCommand(dlq: Command, run: Runner): void {
  const command = dlq
    .command('list')
    .description('list the dead letters of a topic (each is put back: nothing is consumed)')
    .argument('<topic>', 'the topic whose dead letters to list (reads <topic>.dlq)')
    .option('--json', 'print JSON: { topic, deadLetterTopic, count, complete, deadLetters: [...] }');
  withTimings(withFilters(command)).action(run<[string], ListFlags>(list));
}

async function list(context: CommandContext, flags: ListFlags, topic: string): Promise<void> {
  const filter = filterOf(flags);
  const deadLetterTopic = deadLetterTopicName(topic);
  const bus = await context.openBus();
  try {
    const looked = await look(
      bus,
      deadLetterTopic,
      { ...flags, signal: context.io.interrupt, onError: (error) => context.say(`warning: ${error.message}`) },
      (view) => matches(filter, view),
      (kept) => filter.limit !== undefined && kept >= filter.limit,
    );
    await releaseByClosing(looked);
    const letters = looked.kept.map((k) => k.view);
    const note = incompleteNote(looked.end, looked.scan.unseen);
    if (flags.json) context.print(JSON.stringify({ topic, deadLetterTopic, count: letters.length, complete: note === undefined, deadLetters: letters }));
    else printTable(context, letters);
    context.say(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} in ${deadLetterTopic}${letters.length < looked.seen ? ` match (${looked.seen} read)` : ''}`);
    if (note) context.say(note);
  } finally {
    await bus.close().catch(() => {});
  }
}

function printTable(context: CommandContext, letters: readonly DeadLetterView[]): void {
  if (letters.length === 0) return;
  const rows = letters.map((l) => [l.id, l.group ?? '-', l.reason ?? '-', String(l.attempts ?? '-'), l.lastFailureAt ?? '-', cell(l.error ? `${l.error.name}: ${l.error.message}` : '(not dead-lettered by Omnibus)')]);
  context.print(table(['ID', 'GROUP', 'REASON', 'ATTEMPTS', 'DEAD-LETTERED AT', 'ERROR'], rows));
}
