import type { ConnectionPool } from '@platformatic/kafka';
import type { ConnectionObserver } from './driver.js';
import { timedOut } from './platformatic-errors.js';

/**
 * Tell `observer` about every connection of a @platformatic/kafka pool, from the client's own
 * events: bytes read → `alive`; a connection that could not be made, failed, or was closed by
 * the broker → `lost`. A connection the client closes itself says `closing` first.
 */
export function watchPool(pool: ConnectionPool, observer: ConnectionObserver): void {
  pool.on('connect', ({ broker, connection }) => {
    const where = `${broker.host}:${broker.port}`;
    let closing = false;
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
  pool.on('failed', ({ broker }) => observer.lost(new Error(`cannot connect to ${broker.host}:${broker.port}`)));
}

/** A request that got no answer in time means the connection is not working (a silent network), as kafkajs' REQUEST_TIMEOUT does. */
export function noteTimeout(error: unknown, observer: ConnectionObserver, requestTimeoutMs: number): void {
  if (timedOut(error)) observer.lost(new Error(`a request got no answer within ${requestTimeoutMs} ms`));
}
