/**
 * AsyncAPI servers from the broker URL, without its credentials: one server per address
 * (a Kafka URL may name several brokers), with the AsyncAPI protocol name of its scheme.
 */
export type Protocol = 'amqp' | 'amqps' | 'kafka' | 'kafka-secure' | 'redis' | 'rediss' | 'nats' | 'memory';

const PROTOCOLS: Record<string, Protocol> = {
  amqp: 'amqp',
  amqps: 'amqps',
  kafka: 'kafka',
  kafkas: 'kafka-secure',
  redis: 'redis',
  rediss: 'rediss',
  nats: 'nats',
  tls: 'nats',
  memory: 'memory',
};

export interface ServerInfo {
  readonly protocol: Protocol;
  /** host:port of each address, credentials removed. */
  readonly hosts: readonly string[];
  /** The AMQP virtual host, `/` by default. */
  readonly pathname: string | undefined;
}

export function serverInfo(url: string): ServerInfo | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(url);
  const protocol = match ? PROTOCOLS[(match[1] as string).toLowerCase()] : undefined;
  if (!match || !protocol) return undefined;
  let rest = match[2] as string;
  // The userinfo runs to the last `@` (a password may hold one): drop it whole.
  const at = rest.lastIndexOf('@');
  if (at !== -1) rest = rest.slice(at + 1);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const path = end === -1 ? '' : rest.slice(end).replace(/[?#].*$/s, '');
  const hosts = authority.split(',').map((h) => h.trim()).filter(Boolean);
  let pathname: string | undefined;
  if (protocol === 'amqp' || protocol === 'amqps') pathname = path.length > 1 ? `/${decodeURIComponent(path.slice(1))}` : '/';
  return { protocol, hosts: hosts.length ? hosts : ['localhost'], pathname };
}
