import { assertTopicName, validateBody, ValidationError, type Bus, type Topic } from '@omnibus/core';
import { Option, type Command } from 'commander';
import { readBodies } from '../bodies.js';
import type { CommandContext } from '../context.js';
import { CommandFailed, InputError } from '../exit-codes.js';
import { parseHeaders } from '../header-option.js';
import { collect, nonNegativeInteger, positiveInteger } from '../parse-number.js';
import { loadTopics, topicNamed } from '../topics-module.js';
import type { Runner } from './runner.js';

interface PublishFlags {
  readonly data?: string;
  readonly file?: string;
  readonly key?: string;
  readonly header: string[];
  readonly delay?: number;
  readonly count: number;
  readonly topics?: string;
  readonly json?: boolean;
}

/** Bodies per publishBatch call: each call is validated whole and sent as one transport call. */
const CHUNK = 500;

export function publishCommand(program: Command, run: Runner): void {
  program
    .command('publish')
    .description('publish JSON messages to a topic (from --data, --file, or JSON lines on stdin)')
    .argument('<topic>', 'topic name')
    .option('-d, --data <json>', 'the body, as JSON')
    .option('-f, --file <path>', 'a file with one JSON body, or JSON lines')
    .option('-k, --key <key>', 'partitioning / ordering key')
    .option('-H, --header <name=value>', 'a user header (repeatable)', collect, [])
    .option('--delay <ms>', 'deliver no earlier than this many milliseconds from now', nonNegativeInteger)
    .addOption(new Option('-n, --count <n>', 'publish every body this many times (new ids)').argParser(positiveInteger).default(1))
    .option('-t, --topics <module>', 'module exporting defineTopic(...) values: bodies are validated against the schema before anything is sent')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  omnibus publish orders --data \'{"id":1}\' --header tenant=acme\n  cat orders.jsonl | omnibus publish orders --topics ./dist/topics.js')
    .action(run<[string], PublishFlags>(publish));
}

async function publish(context: CommandContext, flags: PublishFlags, name: string): Promise<void> {
  const headers = parseHeaders(flags.header);
  const topic = await topicFor(name, flags.topics);
  const bodies = await readBodies({ data: flags.data, file: flags.file }, context.io.stdin);
  // Every body is checked before the broker is even contacted: one bad body, nothing sent.
  if (topic.schema) {
    for (const [index, body] of bodies.entries()) {
      const invalid = await validateBody(topic, body).then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof ValidationError) return error;
          throw error;
        },
      );
      if (invalid) {
        const issues = invalid.issues.map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`).join('; ');
        const where = bodies.length > 1 ? `body ${index + 1} of ${bodies.length}` : 'the body';
        throw new InputError(`${where} does not match the schema of topic "${topic.name}": ${issues}; nothing was sent`);
      }
    }
  }
  const items = Array.from({ length: bodies.length * flags.count }, (_, i) => ({ body: bodies[i % bodies.length], key: flags.key, headers, delayMs: flags.delay }));
  const bus = await context.openBus();
  const ids: string[] = [];
  try {
    for (let start = 0; start < items.length; start += CHUNK) {
      if (context.io.interrupt.aborted) break;
      ids.push(...(await bus.publishBatch(topic, items.slice(start, start + CHUNK))));
    }
  } finally {
    await closeQuietly(bus);
  }
  report(context, flags, topic.name, ids, items.length);
}

function report(context: CommandContext, flags: PublishFlags, topic: string, ids: string[], asked: number): void {
  if (flags.json) context.print(JSON.stringify({ topic, published: ids.length, ids }));
  else {
    for (const id of ids) context.print(id);
    context.say(`published ${ids.length} message${ids.length === 1 ? '' : 's'} to ${topic}`);
  }
  if (ids.length < asked) throw new CommandFailed(`interrupted: published ${ids.length} of ${asked}`);
}

/** The --topics module's topic (validated, its codec), else an unvalidated JSON topic. */
async function topicFor(name: string, module: string | undefined): Promise<Topic<unknown, unknown>> {
  if (module !== undefined) return topicNamed(await loadTopics(module), name, module);
  assertTopicName(name);
  return Object.freeze({ name, schema: undefined, codec: undefined });
}

async function closeQuietly(bus: Bus): Promise<void> {
  await bus.close().catch(() => {});
}
