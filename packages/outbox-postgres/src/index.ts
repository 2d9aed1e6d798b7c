/**
 * @omnibus/outbox-postgres — a transactional outbox on PostgreSQL (pg): `outbox.publish(client, …)`
 * inside your transaction, a relay that sends committed rows to the bus. See README.md.
 */
export { createOutbox, Outbox } from './outbox.js';
export type { OutboxLag, OutboxPublishOptions, Queryable } from './outbox.js';
export { createRelay, Relay } from './relay.js';
export type { RelayStats } from './relay.js';
export { OutboxOptionsSchema, RelayOptionsSchema, parseOutboxOptions, parseRelayOptions } from './options.js';
export type { OutboxOptions, OutboxOptionsInput, RelayOptions, RelayOptionsInput } from './options.js';
export type { PublishedRow } from './rows.js';
