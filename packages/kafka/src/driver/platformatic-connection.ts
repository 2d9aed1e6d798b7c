import { TimeoutError, type Base, type BaseOptions, type Broker, type Connection } from '@platformatic/kafka';
import type { ConnectionObserver } from './driver.js';
import { timedOut } from './platformatic-errors.js';

interface PoolEvent {
  readonly broker: Broker;
  readonly connection: Connection;
}

/**
 * Tell `observer` about every connection of a @platformatic/kafka client (all its pools: a
 * consumer fetches on a pool of its own), from the client's own events: bytes read → `alive`;
 * a connection that could not be made, failed, or was closed by the broker → `lost`. A
 * connection the client closes itself says `closing` first. Every request of the client gets
 * `requestTimeoutMs` to be answered (see limitRequestTime).
 */
export function watchClient(client: Base<BaseOptions>, observer: ConnectionObserver, requestTimeoutMs: number): void {
  client.on('client:broker:connect', ({ broker, connection }: PoolEvent) => {
    const where = `${broker.host}:${broker.port}`;
    let closing = false;
    limitRequestTime(connection, requestTimeoutMs);
    observer.alive();
    connection.socket.on('data', () => observer.alive());
    connection.once('closing', () => {
      closing = true;
    });
    connection.once('close', () => {
      if (!closing) observer.lost(new Error(`connection to ${where} closed by the broker`));
    });
    // Also keeps a second error of the connection from being unhandled (the pool listens once).
    connection.on('error', (error: Error) => observer.lost(new Error(`connection to ${where} failed: ${error.cause instanceof Error ? error.cause.message : error.message}`)));
  });
  client.on('client:broker:failed', ({ broker }: PoolEvent) => observer.lost(new Error(`cannot connect to ${broker.host}:${broker.port}`)));
}

/**
 * @platformatic/kafka 1.22 waits for an answer forever (its requestTimeout came later): on a
 * silent network (no reset) every request would hang. A request unanswered within
 * `requestTimeoutMs` fails with a TimeoutError, as later releases fail it: the connection
 * stays (a late answer is dropped), and the client does not retry it. 1.22 retries every error
 * whose code is its network one, which a TimeoutError's is: its code is set to the timeout's
 * own, so that the failure reaches the caller (a heartbeat's, a fetch's) at once, as in later
 * releases (they retry no error that says canRetry: false). The connection's own `send` is
 * wrapped: every API call of the client goes through it.
 */
function limitRequestTime(connection: Connection, requestTimeoutMs: number): void {
  const send = connection.send.bind(connection);
  const limited: Connection['send'] = (apiKey, apiVersion, createPayload, parser, requestTagged, responseTagged, callback) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      const error = new TimeoutError('Request timed out', { canRetry: false });
      error.code = TimeoutError.code;
      callback(error, undefined as never);
    }, requestTimeoutMs);
    send(apiKey, apiVersion, createPayload, parser, requestTagged, responseTagged, (error, payload) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      callback(error, payload);
    });
  };
  connection.send = limited;
}

/** A request that got no answer in time means the connection is not working (a silent network), as kafkajs' REQUEST_TIMEOUT does. */
export function noteTimeout(error: unknown, observer: ConnectionObserver, requestTimeoutMs: number): void {
  if (timedOut(error)) observer.lost(new Error(`a request got no answer within ${requestTimeoutMs} ms`));
}
