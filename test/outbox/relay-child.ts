// A relay in a process of its own, for the SIGKILL test. Config in OUTBOX_CHILD (JSON). Prints
// `published <json ids>` after each wave the broker accepted, and once `holdAfter` rows were
// published it prints `holding` and stops inside onPublished: its batch is published but not
// committed, and stays so until the test kills the process.
import { createBus } from '@omnibus/core';
import { createOutbox, createRelay } from '@omnibus/outbox-postgres';
import pg from 'pg';

interface ChildConfig {
  url: string;
  options: Record<string, unknown>;
  postgresUrl: string;
  table: string;
  batchSize: number;
  holdAfter: number;
}

const config = JSON.parse(process.env.OUTBOX_CHILD ?? '{}') as ChildConfig;
const pool = new pg.Pool({ connectionString: config.postgresUrl, max: 3 });
const bus = await createBus({ url: config.url, options: config.options });
let published = 0;
const relay = createRelay({
  pool,
  bus,
  outbox: createOutbox({ table: config.table }),
  batchSize: config.batchSize,
  onPublished: async (rows) => {
    published += rows.length;
    process.stdout.write(`published ${JSON.stringify(rows.map((row) => row.id))}\n`);
    if (published >= config.holdAfter) {
      process.stdout.write('holding\n');
      await new Promise(() => {}); // until SIGKILL
    }
  },
});
await relay.start();
process.stdout.write('started\n');
