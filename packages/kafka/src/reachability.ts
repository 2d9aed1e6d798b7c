import { connect } from 'node:net';
import { withTimeout } from '@omnibus/core';

/**
 * Whether any bootstrap broker accepts a TCP connection. Used only after a publish
 * failed, to tell "the cluster is unreachable" (a ConnectionError) from a broker
 * that answered and refused.
 */
export async function anyBrokerReachable(brokers: readonly string[], timeoutMs = 1_000): Promise<boolean> {
  const attempts = brokers.map((address) => {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const socket = connect({ host, port: Number(address.slice(colon + 1)) });
    const connected = new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    return withTimeout(connected, timeoutMs, () => new Error('no answer'))
      .catch(() => false)
      .finally(() => socket.destroy());
  });
  return (await Promise.all(attempts)).some(Boolean);
}
