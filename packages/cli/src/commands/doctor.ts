import { isOmnibusError, type Bus } from '@omnibus/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CommandFailed } from '../exit-codes.js';
import { describeFailure } from '../failure.js';
import type { Runner } from './runner.js';

interface DoctorFlags {
  readonly json?: boolean;
  readonly verbose?: boolean;
}

export function doctorCommand(program: Command, run: Runner): void {
  program
    .command('doctor')
    .description("connect, and print the transport's capabilities and the connection's state; says what is wrong if it cannot connect")
    .option('--json', 'print JSON')
    .action(run<[], DoctorFlags>(doctor));
}

async function doctor(context: CommandContext, flags: DoctorFlags): Promise<void> {
  const url = context.url;
  const started = Date.now();
  let bus: Bus;
  try {
    bus = await context.openBus();
  } catch (error) {
    const report = { url: url.shown, connected: false, error: describeFailure(error, url, false) };
    if (flags.json) context.print(JSON.stringify(report));
    throw new CommandFailed(`cannot connect to ${url.shown}:\n${describeFailure(error, url, flags.verbose === true)}`);
  }
  try {
    const connectMs = Date.now() - started;
    const transport = bus.transport;
    const health = bus.health();
    const broker = transport.brokerInfo ? await transport.brokerInfo().catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) })) : undefined;
    const brokerVersion = broker && 'product' in broker ? broker : null;
    const report = {
      url: url.shown,
      connected: true,
      connectMs,
      transport: transport.name,
      // What the broker says of itself; null where the transport cannot ask (said plainly rather than guessed).
      broker: brokerVersion,
      capabilities: transport.capabilities,
      features: {
        inspect: typeof transport.inspect === 'function',
        deleteGroup: typeof transport.deleteGroup === 'function',
        health: typeof transport.health === 'function',
      },
      health: { status: health.status, state: health.transport.state, lastError: health.transport.lastError?.message },
    };
    if (flags.json) {
      context.print(JSON.stringify(report));
      return;
    }
    const s = context.out;
    const yes = (on: boolean) => (on ? s.green('yes') : s.yellow('no'));
    const c = transport.capabilities;
    context.print(
      [
        `${s.green('connected')} to ${url.shown} in ${connectMs} ms (transport ${s.bold(transport.name)}, connection ${health.transport.state})`,
        `broker:              ${describeBroker(broker)}`,
        `delayed publish:     ${c.delayedPublish}`,
        `delayed redelivery:  ${c.delayedRedelivery}`,
        `redelivery headers:  ${yes(c.redeliveryHeaders)}`,
        `ordering by key:     ${yes(c.orderingByKey)}`,
        `persistence:         ${yes(c.persistence)}`,
        `max message bytes:   ${c.maxMessageBytes}`,
        `stats (inspect):     ${yes(report.features.inspect)}`,
        `tail cleanup:        ${yes(report.features.deleteGroup)}${report.features.deleteGroup ? '' : ' (temporary tail groups stay on the broker)'}`,
      ].join('\n'),
    );
  } finally {
    await bus.close().catch((error: unknown) => {
      if (!isOmnibusError(error)) throw error;
    });
  }
}

function describeBroker(broker: { product: string; version: string | undefined; details?: Readonly<Record<string, string>> | undefined } | { error: string } | undefined): string {
  if (broker === undefined) return 'not reported (the transport has no brokerInfo)';
  if ('error' in broker) return `not reported (${broker.error})`;
  const details = Object.entries(broker.details ?? {}).map(([name, value]) => `${name} ${value}`);
  return [`${broker.product} ${broker.version ?? '(version not reported by the protocol)'}`, ...details].join(', ');
}
