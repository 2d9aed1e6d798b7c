import { Option, type Command } from 'commander';
import { nonNegativeInteger, positiveInteger } from '../parse-number.js';

/** The filters every dlq command takes. */
export function withFilters(command: Command): Command {
  return command
    .option('-g, --group <group>', 'only dead letters of this group')
    .option('-r, --reason <reasons>', 'only these reasons, comma-separated (max-attempts, non-retryable, explicit, undecodable, invalid)')
    .option('-s, --since <time>', 'only dead-lettered at or after this time: ISO (2024-05-01T02:00:00Z) or back from now (30m, 2h, 1d)')
    .option('-l, --limit <n>', 'at most this many', positiveInteger);
}

/** How long a read of the dead-letter topic waits (there is no end of a topic to wait for). */
export function withTimings(command: Command): Command {
  return command
    .addOption(new Option('--wait <ms>', 'wait this long for the first dead letter').argParser(nonNegativeInteger).default(5_000))
    .addOption(new Option('--idle <ms>', 'stop reading after this long without a new one').argParser(nonNegativeInteger).default(1_500));
}
