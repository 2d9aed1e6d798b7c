/**
 * @omnibus/sqs — the Amazon SQS transport (AWS SDK v3).
 * `createBus('sqs://')` (Amazon SQS) or `createBus('sqs://127.0.0.1:9324?region=elasticmq')`
 * (an SQS-compatible endpoint) loads it on demand; see README.md.
 */
export { createTransport, SqsTransport } from './transport.js';
export { sqsCapabilities, MAX_MESSAGE_BYTES } from './capabilities.js';
export { SqsOptionsSchema, parseSqsOptions } from './options.js';
export type { SqsOptions, SqsOptionsInput } from './options.js';
export { parseSqsUrl } from './url.js';
export type { SqsUrl } from './url.js';
export { QueueNames } from './names.js';
export { Attributes } from './codec.js';
