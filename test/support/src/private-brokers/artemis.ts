// A private ActiveMQ Artemis (see private-broker.ts), for the amqp10 fault suite's restart scenario.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePorts } from '../ports.js';
import { tempDir } from '../processes.js';
import { privateBrokerUnavailable } from './availability.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';
import { amqp10Ready } from './probes.js';

const ARTEMIS_SCRIPT = resolve(import.meta.dirname, '..', '..', '..', '..', 'scripts', 'brokers', 'artemis.mjs');

const FAST_START_JAVA_ARGS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms128m -Xmx512m -Dlog4j2.disableJmx=true --add-opens java.base/jdk.internal.misc=ALL-UNNAMED';

/** `node scripts/brokers/artemis.mjs create <dir> <port>`: the instance is made as the test broker's is. */
function createInstance(dir: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ARTEMIS_SCRIPT, 'create', dir, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`artemis create exited ${String(code)}: ${stderr.trim()}`))));
  });
}

/**
 * An Artemis broker instance of its own (`artemis create` in a temporary dir: artemis/artemis, one
 * AMQP acceptor on a free port, NIO journal with datasync, so an accepted durable message survives
 * a SIGKILL). The JVM starts in about 6 s on this machine (the instance is created once, ~5 s).
 */
export async function startArtemis(): Promise<PrivateBroker> {
  const unavailable = privateBrokerUnavailable('amqp10');
  if (unavailable) throw new Error(unavailable);
  const [port] = (await freePorts(1)) as [number];
  const dir = tempDir('artemis');
  const instance = join(dir, 'instance');
  await createInstance(instance, port);
  const spec: LaunchSpec = {
    name: `artemis :${port}`,
    command: join(instance, 'bin', 'artemis'),
    args: ['run'],
    cwd: instance,
    // Replaces the instance profile's JAVA_ARGS: C1 only and the serial collector start the JVM
    // faster on a small machine (what a restart test waits for); the heap stays that of the test broker.
    env: { ...process.env, JAVA_ARGS: `${FAST_START_JAVA_ARGS} -Djolokia.policyLocation=file:${join(instance, 'etc', 'jolokia-access.xml')}` },
    readyLine: /AMQ221007/,
    probe: () => amqp10Ready(port),
    startTimeoutMs: 60_000,
  };
  const broker = new PrivateBroker('amqp10', `amqp10://artemis:artemis@127.0.0.1:${port}`, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
