// A private nats-server (see private-broker.ts).
import { join } from 'node:path';
import type { ConnectionOptions } from '@nats-io/transport-node';
import { freePorts } from '../ports.js';
import { tempDir } from '../processes.js';
import { NATS_SERVER_BINARY } from './availability.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';
import { natsJetStreamReady } from './probes.js';

export interface NatsLaunchOptions {
  /** More nats-server arguments (e.g. --user/--pass, --auth, -c with an authorization block). */
  readonly args?: readonly string[];
  /** How the readiness probe authenticates, when `args` make the server require it. */
  readonly probeAuth?: Partial<ConnectionOptions>;
}

/** nats-server with JetStream on file storage in its own store dir. */
export async function startNats(options: NatsLaunchOptions = {}): Promise<PrivateBroker> {
  const { args = [], probeAuth = {} } = options;
  const [port] = (await freePorts(1)) as [number];
  const dir = tempDir('nats');
  const spec: LaunchSpec = {
    name: `nats-server :${port}`,
    command: NATS_SERVER_BINARY,
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream'), '-n', `omnibus-private-${port}`, ...args],
    cwd: dir,
    readyLine: /Server is ready/,
    probe: () => natsJetStreamReady(port, probeAuth),
    startTimeoutMs: 30_000,
  };
  const broker = new PrivateBroker('nats', `nats://127.0.0.1:${port}`, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
