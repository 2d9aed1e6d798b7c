import { hostname } from 'node:os';
import { jsonCodec, type Codec } from '../codec.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Middleware } from '../message.js';
import type { Transport } from '../transport.js';
import { isTransportFactory, type TransportFactory } from '../transport-factory.js';
import { anyOf, arrayOf, custom, number, oneOf, optional, record, strictObject, text, withDefault, withInput, type OutputOf } from './rules.js';

/** The createBus config as a user writes it; `TName` is the transport names createBus knows. */
export interface BusConfigInput<TName extends string = string> {
  /** Broker URL; its scheme picks the transport. */
  readonly url?: string;
  /** A transport name (instead of the URL scheme), a transport factory (`redis({ url })`) or a transport instance. */
  readonly transport?: TName | TransportFactory | Transport;
  /** Transport-specific options (see the transport package's README); `{}` when not given (not with a factory). */
  readonly options?: Record<string, unknown>;
  /** CloudEvents `source` of published messages. Default `omnibus://<hostname>`. */
  readonly source?: string;
  /** Body codec for topics without their own. Default JSON. */
  readonly codec?: Codec;
  /** Default silent. */
  readonly logger?: Logger;
  readonly middleware?: readonly Middleware[];
  /** How long close() waits for in-flight handlers before releasing them for redelivery. Default 10 s. */
  readonly drainTimeoutMs?: number;
}

const isTransport = (value: unknown): value is Transport =>
  typeof value === 'object' && value !== null && typeof (value as Transport).publish === 'function' && typeof (value as Transport).subscribe === 'function';

const object = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * The createBus config rule, for the transport names given (create-bus.ts owns that list; taking
 * it here keeps this module free of an import cycle with it). Errors read as zod's did.
 */
export function busConfigSchema<const TName extends string>(transportNames: readonly [TName, ...TName[]]) {
  const checker = strictObject({
    url: optional(text({ min: 1 })),
    transport: optional(
      anyOf([
        oneOf(transportNames),
        custom<TransportFactory>(isTransportFactory),
        custom<Transport>(isTransport, 'expected a transport name, a transport factory or a Transport instance'),
      ]),
    ),
    options: optional(record),
    source: withDefault(text({ min: 1 }), `omnibus://${hostname()}`),
    codec: withDefault(custom<Codec>((v) => object(v) && typeof v.encode === 'function' && typeof v.decode === 'function', 'expected a Codec'), jsonCodec),
    logger: withDefault(custom<Logger>((v) => object(v) && typeof v.error === 'function', 'expected a logger with debug/info/warn/error'), silentLogger),
    middleware: withDefault(arrayOf(custom<Middleware>(object, 'expected { publish?, consume? }')), []),
    drainTimeoutMs: withDefault(number({ int: true, min: 0 }), 10_000),
  });
  return withInput<BusConfigInput<TName>, OutputOf<typeof checker>>(checker);
}
