import { assertTopicName, deadLetterTopicName, safeString, type Delivery } from '@omnibus/core';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../context.js';
import { viewOf, type DeadLetterView } from '../dead-letters/dead-letter.js';
import { expectedDeadLetters } from '../dead-letters/expected.js';
import { filterOf, matches, type FilterFlags } from '../dead-letters/filter.js';
import { HOLD_WINDOW, incompleteNote, type ScanTimingFlags } from '../dead-letters/look.js';
import { Replayer } from '../dead-letters/replayer.js';
import { DeadLetterScan, type ScanEnd } from '../dead-letters/scan.js';
import { CommandFailed } from '../exit-codes.js';
import { positiveInteger, positiveNumber } from '../parse-number.js';
import { progressFor } from '../progress.js';
import { withFilters, withTimings } from './dlq-options.js';
import type { Runner } from './runner.js';

interface ReplayFlags extends FilterFlags, ScanTimingFlags {
  readonly dryRun?: boolean;
  readonly rate?: number;
  readonly batch: number;
  readonly json?: boolean;
}


export function dlqReplayCommand(dlq: Command, run: Runner): void {
  const command = dlq
    .command('replay')
    .description('republish dead letters to their original topic; each is removed only after its republish was accepted')
    .argument('<topic>', 'the topic whose dead letters to replay (reads <topic>.dlq)')
    .option('--dry-run', 'only list what would be replayed (nothing is republished or removed)')
    .option('--rate <msg/s>', 'republish at most this many messages per second', positiveNumber)
    .addOption(new Option('--batch <n>', 'messages per publish call').argParser(positiveInteger).default(100))
    .option('--json', 'print JSON: { deadLetterTopic, replayed, kept, failed, dryRun, wouldReplay? }')
    .addHelpText(
      'after',
      '\nA replay goes to the original topic (header omnibus-dlq-original-topic), so every group of\n' +
        'that topic gets the message again, not only the one that dead-lettered it (filter with\n' +
        '--group to choose which dead letters; handlers must be idempotent, as always).\n' +
        'Interrupted (Ctrl-C) or killed, nothing is lost: run the same command again.',
    );
  withTimings(withFilters(command)).action(run<[string], ReplayFlags>(replay));
}

async function replay(context: CommandContext, flags: ReplayFlags, topic: string): Promise<void> {
  const filter = filterOf(flags);
  const deadLetterTopic = deadLetterTopicName(topic);
  const bus = await context.openBus();
  const counts = { replayed: 0, kept: 0, failed: 0 };
  const wouldReplay: DeadLetterView[] = [];
  const held: Delivery[] = [];
  let failure: unknown;
  let end: ScanEnd;
  let unseen = 0;
  const progress = progressFor(context.io, flags.dryRun ? 'dry run' : 'replaying');
  try {
    const expected = await expectedDeadLetters(bus, deadLetterTopic);
    const scan = new DeadLetterScan(bus, { topic: deadLetterTopic, window: HOLD_WINDOW, firstWaitMs: flags.wait, idleMs: flags.idle, expected, signal: context.io.interrupt, onError: (error) => context.say(`warning: ${error.message}`) });
    const replayer = new Replayer(bus, { batchSize: flags.batch, rate: flags.rate, signal: context.io.interrupt });
    let accepted = 0;
    const keep = (delivery: Delivery) => {
      held.push(delivery);
      scan.hold();
      counts.kept += 1;
    };
    end = await scan.run(async (delivery) => {
      const view = viewOf(delivery.message);
      const target = replayableTopic(view);
      if (failure !== undefined || target === undefined || !matches(filter, view) || (filter.limit !== undefined && accepted >= filter.limit)) {
        keep(delivery);
        return;
      }
      accepted += 1;
      if (filter.limit !== undefined && accepted >= filter.limit) scan.end('enough');
      if (flags.dryRun) {
        wouldReplay.push(view);
        held.push(delivery);
        scan.hold();
        return;
      }
      try {
        if ((await replayer.replay(delivery, target)) === 'replayed') await scan.removed(delivery.message);
        counts.replayed = replayer.replayed;
      } catch (error) {
        counts.failed += 1;
        failure ??= error;
        scan.end('enough');
      }
      progress.update(counts, expected);
    });
    // A dry run settled nothing: closing releases all at once. A replay acked some: nack the
    // others (on Kafka an unsettled offset would hold back the commit of the acked ones after it).
    if (!flags.dryRun) await Promise.allSettled(held.map((delivery) => delivery.nack()));
    await scan.close();
    unseen = scan.unseen;
  } finally {
    progress.stop();
    await bus.close().catch(() => {});
  }
  if (flags.dryRun) {
    const note = incompleteNote(end, unseen);
    if (flags.json) context.print(JSON.stringify({ deadLetterTopic, dryRun: true, complete: note === undefined, wouldReplay }));
    else for (const view of wouldReplay) context.print(`${view.id}\t${view.group ?? '-'}\t${view.reason ?? '-'}\t-> ${view.originalTopic ?? '-'}`);
    context.say(`dry run: ${wouldReplay.length} dead letter${wouldReplay.length === 1 ? '' : 's'} of ${deadLetterTopic} would be replayed, nothing was changed`);
    if (note) context.say(note);
    return;
  }
  if (flags.json) context.print(JSON.stringify({ deadLetterTopic, dryRun: false, ...counts, interrupted: end === 'interrupted' }));
  const kept = counts.kept > 0 ? ` (${counts.kept} kept: not matching the filters or not replayable)` : '';
  context.say(`replayed ${counts.replayed} dead letter${counts.replayed === 1 ? '' : 's'} of ${deadLetterTopic}${kept}`);
  if (failure !== undefined) throw new CommandFailed(`a republish failed, the replay stopped (the dead letters not replayed are still in ${deadLetterTopic}): ${failure instanceof Error ? failure.message : safeString(failure)}`);
  if (end === 'interrupted') throw new CommandFailed(`interrupted: the dead letters not replayed yet are still in ${deadLetterTopic}; run the same command again to go on`);
  if (end === 'window-full') context.say(`stopped: ${HOLD_WINDOW} dead letters that are kept fill the read window; more may remain`);
  const note = incompleteNote(end === 'idle' ? end : 'enough', unseen);
  if (note) context.say(note);
}

/** The topic to republish to: the dead letter's original topic, when it names a valid one. */
function replayableTopic(view: DeadLetterView): string | undefined {
  if (view.originalTopic === undefined) return undefined;
  try {
    assertTopicName(view.originalTopic);
    return view.originalTopic;
  } catch {
    return undefined;
  }
}
