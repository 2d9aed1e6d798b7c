import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { asyncApiDocument } from '../asyncapi/document.js';
import type { CommandContext } from '../context.js';
import { loadTopics } from '../topics-module.js';
import type { Runner } from './runner.js';

interface AsyncApiFlags {
  readonly topics: string;
  readonly out?: string;
  readonly title: string;
  readonly docVersion: string;
}

export function asyncApiCommand(program: Command, run: Runner): void {
  program
    .command('asyncapi')
    .description('write an AsyncAPI 3.0 document (JSON) of the topics of a module, with their dead-letter topics')
    .requiredOption('-t, --topics <module>', 'module exporting defineTopic(...) values')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .addOption(new Option('--title <title>', 'info.title').default('Omnibus topics'))
    .addOption(new Option('--doc-version <version>', 'info.version').default('1.0.0'))
    .addHelpText('after', '\nWith --url (or OMNIBUS_URL) the document gets servers (without credentials) and the broker\'s bindings; no connection is made.')
    .action(run<[], AsyncApiFlags>(asyncapi));
}

async function asyncapi(context: CommandContext, flags: AsyncApiFlags): Promise<void> {
  const topics = await loadTopics(flags.topics);
  const document = asyncApiDocument({ topics, title: flags.title, version: flags.docVersion, url: context.urlIfGiven?.url, options: context.transportOptions, warn: (message) => context.say(`warning: ${message}`) });
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (flags.out === undefined) {
    context.io.stdout.write(text);
    return;
  }
  await writeFile(flags.out, text);
  context.say(`wrote ${flags.out}: ${topics.length} topic${topics.length === 1 ? '' : 's'}, ${topics.length * 2} channels`);
}
