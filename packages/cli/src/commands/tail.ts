import { randomBytes } from 'node:crypto';
import { deadLetterTopicOf, isOmnibusError, rawTopic, readDeadLetter, type Bus, type Message } from '@omnibus/core';
import type { Command } from 'commander';
import { bodyLine, showBody } from '../body-text.js';
import type { CommandContext } from '../context.js';
import { CommandFailed } from '../exit-codes.js';
import { whenAborted } from '../interrupted.js';
import { positiveInteger } from '../parse-number.js';
import type { Runner } from './runner.js';

interface TailFlags {
  readonly json?: boolean;
  readonly fromBeginning?: boolean;
  readonly group?: string;
  readonly limit?: number;
}

export function tailCommand(program: Command, run: Runner): void {
  program
    .command('tail')
    .description('follow new messages of a topic with a temporary group (existing groups are not disturbed), until Ctrl-C')
    .argument('<topic>', 'topic name')
    .option('-g, --group <group>', "follow the dead letters of this group instead (what lands in <topic>.dlq from it)")
    .option('-l, --limit <n>', 'stop after this many messages', positiveInteger)
    .option('--from-beginning', 'start at the oldest message the broker keeps, where the transport can (none can yet: it says so)')
    .option('--json', 'one JSON object per message (id, key, headers, envelope, body, metadata)')
    .addHelpText(
      'after',
      '\nThe temporary group (omnibus-tail-<random>) sees what is published after it was created; it is\n' +
        'deleted on exit where the transport can delete a group (otherwise its name is printed).\n' +
        'Messages published before the tail started are not shown: the transport interface has no\n' +
        'way to start a group at the beginning of a topic.',
    )
    .action(run<[string], TailFlags>(tail));
}

async function tail(context: CommandContext, flags: TailFlags, name: string): Promise<void> {
  const topic = flags.group === undefined ? rawTopic(name) : deadLetterTopicOf(name);
  const group = `omnibus-tail-${randomBytes(4).toString('hex')}`;
  const bus = await context.openBus();
  if (flags.fromBeginning) {
    // Transport.subscribe has no start position (a new group sees what is published after it
    // exists), so no transport can do it yet, though Kafka, Redis and NATS keep the history.
    await bus.close().catch(() => {});
    throw new CommandFailed(
      `--from-beginning: the ${bus.transport.name} transport cannot start a new group at the beginning of a topic (the transport interface has no start position); without it, tail shows what is published from now on`,
    );
  }
  let shown = 0;
  let resolveLimit!: () => void;
  const limitReached = new Promise<void>((resolve) => (resolveLimit = resolve));
  // A closed pipe (`omnibus tail t | head -3`) ends the tail like Ctrl-C does.
  const pipeClosed = new Promise<void>((resolve) => context.io.stdout.once('error', () => resolve()));
  try {
    const subscription = await bus.subscribe(
      topic,
      (message) => {
        // Never throws: a failing tail handler would send the message to the retry path.
        try {
          if (flags.group !== undefined && readDeadLetter(message)?.group !== flags.group) return;
          if (flags.limit !== undefined && shown >= flags.limit) return;
          shown += 1;
          context.print(flags.json ? JSON.stringify(jsonOf(message)) : readable(context, message));
          if (flags.limit !== undefined && shown >= flags.limit) resolveLimit();
        } catch {
          // printing failed (a closed pipe): nothing to do
        }
      },
      { group, concurrency: 1, retry: { maxAttempts: 1_000 } },
    );
    context.say(`tailing ${topic.name} with temporary group ${group} (Ctrl-C to stop)`);
    await Promise.race([whenAborted(context.io.interrupt), limitReached, pipeClosed]);
    await subscription.close();
  } finally {
    await removeGroup(context, bus, topic.name, group);
    await bus.close().catch(() => {});
  }
}

async function removeGroup(context: CommandContext, bus: Bus, topic: string, group: string): Promise<void> {
  try {
    await bus.deleteGroup(topic, group);
    context.say(`removed temporary group ${group}`);
  } catch (error) {
    if (isOmnibusError(error, 'UNSUPPORTED')) {
      context.say(`the ${bus.transport.name} transport cannot delete a group: the temporary group ${group} of ${topic} stays on the broker; remove it with the broker's own tools`);
    } else {
      context.say(`could not remove the temporary group ${group} of ${topic}: ${(error as Error).message}`);
    }
  }
}

function jsonOf(message: Message<Uint8Array>): Record<string, unknown> {
  const deadLetter = readDeadLetter(message);
  return {
    topic: message.topic,
    id: message.id,
    key: message.key ?? null,
    publishedAt: message.publishedAt.toISOString(),
    headers: message.headers,
    envelope: message.envelope,
    ...(deadLetter ? { deadLetter } : {}),
    body: showBody(message.body, message.envelope['content-type']),
    metadata: message.metadata,
  };
}

function readable(context: CommandContext, message: Message<Uint8Array>): string {
  const s = context.out;
  const key = message.key === undefined ? '' : ` key=${message.key}`;
  const lines = [`${s.dim(message.publishedAt.toISOString())} ${s.bold(message.topic)} ${s.cyan(message.id)}${key}`];
  for (const [name, value] of Object.entries(message.headers)) lines.push(`  ${s.dim(`${name}:`)} ${value}`);
  const deadLetter = readDeadLetter(message);
  if (deadLetter) lines.push(`  ${s.red(`dead-lettered by ${deadLetter.group}: ${deadLetter.reason}`)} after ${deadLetter.attempts} attempt(s): ${deadLetter.error.name}: ${deadLetter.error.message}`);
  lines.push(`  ${bodyLine(showBody(message.body, message.envelope['content-type']))}`);
  return lines.join('\n');
}
