import { createBus, type Bus } from '@omnibus/core';
import { BrokerUrl } from './broker-url.js';
import { writeLine, type CliIo } from './io.js';
import { stderrLogger, type LogLevel } from './stderr-logger.js';
import { styleFor, type Style } from './style.js';
import { parseTransportOptions } from './transport-options.js';

/** The options every command takes (commander's program options). */
export interface GlobalFlags {
  readonly url?: string | undefined;
  readonly option?: readonly string[] | undefined;
  readonly verbose?: boolean | undefined;
  readonly quiet?: boolean | undefined;
}

/** What a command runs with: its streams, the broker URL and a way to open the bus. */
export class CommandContext {
  readonly out: Style;
  readonly err: Style;
  private brokerUrl: BrokerUrl | undefined;

  constructor(
    readonly io: CliIo,
    readonly flags: GlobalFlags,
  ) {
    this.out = styleFor(io.stdout, io.env);
    this.err = styleFor(io.stderr, io.env);
  }

  /** `--url`, else OMNIBUS_URL; a UsageError when neither is given. */
  get url(): BrokerUrl {
    this.brokerUrl ??= BrokerUrl.from(this.flags.url, this.io.env);
    return this.brokerUrl;
  }

  /** The URL if one was given, without insisting (asyncapi works without a broker). */
  get urlIfGiven(): BrokerUrl | undefined {
    if (this.flags.url === undefined && !this.io.env.OMNIBUS_URL) return undefined;
    return this.url;
  }

  get transportOptions(): Record<string, unknown> {
    return parseTransportOptions(this.flags.option ?? []);
  }

  get logLevel(): LogLevel {
    return this.flags.verbose ? 'debug' : this.flags.quiet ? 'silent' : 'warn';
  }

  /** Connect (createBus scrubs the URL's credentials from every error and log line). */
  async openBus(): Promise<Bus> {
    const url = this.url;
    return createBus({ url: url.url, options: this.transportOptions, logger: stderrLogger(this.io.stderr, this.logLevel, url), source: 'omnibus-cli' });
  }

  /** A data line on stdout. */
  print(line: string): void {
    writeLine(this.io.stdout, line);
  }

  /** A message for the person on stderr (scrubbed of the URL's secrets). */
  say(line: string): void {
    writeLine(this.io.stderr, this.brokerUrl ? this.brokerUrl.scrub(line) : line);
  }
}
