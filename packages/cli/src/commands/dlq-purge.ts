import { deadLetterTopicName } from '@omnibus/core';
import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import type { CommandContext } from '../context.js';
import { filterOf, matches, type FilterFlags } from '../dead-letters/filter.js';
import { incompleteNote, look, releaseAll, type ScanTimingFlags } from '../dead-letters/look.js';
import { UsageError } from '../exit-codes.js';
import { withFilters, withTimings } from './dlq-options.js';
import type { Runner } from './runner.js';

interface PurgeFlags extends FilterFlags, ScanTimingFlags {
  readonly yes?: boolean;
  readonly json?: boolean;
}

export function dlqPurgeCommand(dlq: Command, run: Runner): void {
  const command = dlq
    .command('purge')
    .description('delete dead letters for good (asks first, unless --yes)')
    .argument('<topic>', 'the topic whose dead letters to delete (reads <topic>.dlq)')
    .option('-y, --yes', 'do not ask (needed when stdin is not a terminal)')
    .option('--json', 'print JSON: { deadLetterTopic, purged, kept } (kept: read and left, not matching the filters)');
  withTimings(withFilters(command)).action(run<[string], PurgeFlags>(purge));
}

async function purge(context: CommandContext, flags: PurgeFlags, topic: string): Promise<void> {
  if (!flags.yes && !context.io.stdin.isTTY) throw new UsageError('dlq purge deletes dead letters for good: pass --yes to confirm (stdin is not a terminal, so it cannot ask)');
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
    const count = looked.kept.length;
    const go = count > 0 && looked.end !== 'interrupted' && (flags.yes || (await confirm(context.io, `delete ${count} dead letter${count === 1 ? '' : 's'} of ${deadLetterTopic} for good?`)));
    // Exactly the dead letters that were counted (and shown in the question) are deleted.
    const purged = go ? looked.kept.map((k) => k.delivery) : [];
    await Promise.all(
      purged.map(async (delivery) => {
        await delivery.ack();
        await looked.scan.removed(delivery.message);
      }),
    );
    await releaseAll(looked);
    const kept = looked.seen - purged.length;
    if (flags.json) context.print(JSON.stringify({ deadLetterTopic, purged: purged.length, kept }));
    const left = kept > 0 ? ` (${kept} left: not matching the filters${go ? '' : ' or not confirmed'})` : '';
    context.say(`${count === 0 ? `no dead letter to purge in ${deadLetterTopic}` : go ? `purged ${purged.length} dead letter${purged.length === 1 ? '' : 's'} of ${deadLetterTopic}` : 'nothing purged'}${left}`);
    const note = incompleteNote(looked.end, looked.scan.unseen);
    if (note && go) context.say(note);
  } finally {
    await bus.close().catch(() => {});
  }
}
