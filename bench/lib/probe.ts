// Is anything listening? A TCP connect with a short timeout. The side's own connect() is the real
// check (protocol, credentials); this only avoids long client retry loops against a closed port.
import { connect } from 'node:net';

export function hostPorts(url: string, defaultPort: number): { host: string; port: number }[] {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^@/]*@/, '').replace(/[/?].*$/, '');
  return rest
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const u = new URL(`tcp://${hp}`);
      return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) };
    });
}

function tcp(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error) => done(`${host}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
  });
}

/** undefined when some address accepts a TCP connection, else why not. */
export async function probe(url: string, defaultPort: number, timeoutMs = 1_500): Promise<string | undefined> {
  let reason = 'no address in the URL';
  for (const { host, port } of hostPorts(url, defaultPort)) {
    const failure = await tcp(host, port, timeoutMs);
    if (!failure) return undefined;
    reason = failure;
  }
  return reason;
}
