// Test cleanup: remove what a run left on the shared Artemis under its prefix (queues, then addresses),
// through the management API, so repeated runs do not pile up queues in the test broker's journal.
import { silentLogger } from '@omnibus/core';
import { ConnectionManager } from '../src/connection.js';
import { Scrubber } from '../src/errors.js';
import { Management } from '../src/management.js';
import { resolveConfig } from '../src/options.js';

export async function cleanupPrefix(url: string, prefix: string): Promise<string> {
  const config = resolveConfig(url, { connectTimeoutMs: 5_000 });
  const scrub = new Scrubber(config.secrets);
  const connection = new ConnectionManager(config, scrub, silentLogger);
  const management = new Management(connection, 10_000, scrub);
  try {
    const names = async (attribute: string) => ((await management.attribute('broker', attribute)) as unknown[]).map(String).filter((name) => name.startsWith(prefix));
    const queues = await names('queueNames');
    // destroyQueue(name, removeConsumers): a consumer left by a failed test does not keep its queue.
    for (const queue of queues) await management.operation('broker', 'destroyQueue', [queue, true]).catch(() => undefined);
    const addresses = await names('addressNames');
    for (const address of addresses) await management.operation('broker', 'deleteAddress', [address]).catch(() => undefined);
    return `deleted ${queues.length} queues and ${addresses.length} addresses under ${prefix}`;
  } finally {
    management.close();
    await connection.close();
  }
}
