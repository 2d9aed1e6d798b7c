import { connect } from 'node:net';

/**
 * Whether any bootstrap broker accepts a TCP connection. Used only after a publish
 * failed, to tell "the cluster is unreachable" (a ConnectionError) from a broker
 * that answered and refused.
 */
export async function anyBrokerReachable(brokers: readonly string[], timeoutMs = 1_000): Promise<boolean> {
  const attempts = brokers.map(
    (address) =>
      new Promise<boolean>((resolve) => {
        const colon = address.lastIndexOf(':');
        const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
        const socket = connect({ host, port: Number(address.slice(colon + 1)) });
        const done = (ok: boolean) => {
          clearTimeout(timer);
          socket.destroy();
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      }),
  );
  return (await Promise.all(attempts)).some(Boolean);
}
