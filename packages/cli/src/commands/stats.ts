import { isOmnibusError, type Bus, type Count, type TopicInspection } from '@omnibus/core';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CommandFailed, UsageError } from '../exit-codes.js';
import { pause } from '../interrupted.js';
import { positiveInteger } from '../parse-number.js';
import { table } from '../table.js';
import { loadTopics } from '../topics-module.js';
import type { Runner } from './runner.js';

interface StatsFlags {
  readonly json?: boolean;
  readonly watch?: number | true;
  readonly group?: string;
  readonly topics?: string;
}

export function statsCommand(program: Command, run: Runner): void {
  program
    .command('stats')
    .description('depth, in-flight, delayed, lag and dead letters per group, as the broker reports them')
    .argument('[topics...]', 'topic names (or every topic of --topics)')
    .option('-g, --group <group>', 'only this group')
    .option('-t, --topics <module>', 'module exporting defineTopic(...) values: report all of them')
    .addOption(new Option('-w, --watch [ms]', 'repeat every ms (default 2000) until Ctrl-C').argParser(positiveInteger))
    .option('--json', 'print JSON (one object per round with --watch)')
    .addHelpText('after', '\nCounts marked ~ are estimates (the broker reports them approximately); - means the broker cannot tell.')
    .action(run<[string[]], StatsFlags>(stats));
}

async function stats(context: CommandContext, flags: StatsFlags, names: string[]): Promise<void> {
  const topics = names.length > 0 ? names : flags.topics !== undefined ? (await loadTopics(flags.topics)).map((t) => t.name) : [];
  if (topics.length === 0) throw new UsageError('name at least one topic (omnibus stats orders payments), or give --topics <module>');
  const bus = await context.openBus();
  try {
    const everyMs = flags.watch === true ? 2_000 : flags.watch;
    for (;;) {
      const inspections = await inspectAll(bus, topics, flags.group);
      if (flags.json) context.print(JSON.stringify({ transport: bus.transport.name, readAt: new Date().toISOString(), topics: inspections }));
      else {
        if (everyMs !== undefined && context.io.stdout.isTTY) context.io.stdout.write('\u001b[2J\u001b[H');
        context.print(render(inspections));
      }
      if (everyMs === undefined || context.io.interrupt.aborted) return;
      await pause(everyMs, context.io.interrupt);
      if (context.io.interrupt.aborted) return;
    }
  } finally {
    await bus.close().catch(() => {});
  }
}

async function inspectAll(bus: Bus, topics: readonly string[], group: string | undefined): Promise<TopicInspection[]> {
  try {
    return await Promise.all(topics.map((topic) => bus.inspect(topic, group)));
  } catch (error) {
    if (isOmnibusError(error, 'UNSUPPORTED')) {
      throw new CommandFailed(`stats: the ${bus.transport.name} transport cannot report depth and lag (it does not implement Transport.inspect): ${(error as Error).message}`);
    }
    throw error;
  }
}

const count = (c: Count | undefined): string => (c === undefined ? '-' : `${c.exact ? '' : '~'}${c.value}`);

function render(inspections: readonly TopicInspection[]): string {
  const rows: string[][] = [];
  for (const inspection of inspections) {
    const dead = count(inspection.deadLettered);
    if (inspection.groups.length === 0) rows.push([inspection.topic, '(no group)', '-', '-', '-', '-', count(inspection.delayed), dead]);
    for (const g of inspection.groups) rows.push([inspection.topic, g.group, count(g.waiting), count(g.inFlight), count(g.delayed), count(g.lag), count(inspection.delayed), dead]);
  }
  return table(['TOPIC', 'GROUP', 'WAITING', 'IN-FLIGHT', 'RETRYING', 'LAG', 'DELAYED', 'DEAD-LETTERED'], rows);
}
