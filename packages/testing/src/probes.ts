// "Does a ready broker of this kind answer here?" Each probe speaks a little of the broker's own
// protocol over node:net (SQS: one HTTP call), so a port held by something else, or a broker still
// starting, is told apart from a ready one. A probe never rejects.
import http from 'node:http';
import net from 'node:net';
import type { BrokerKind, ParsedAddress } from './kinds.js';

export type ProbeResult = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly reason: string };

type Verdict = ProbeResult | undefined;

interface Exchange {
  readonly address: ParsedAddress;
  readonly timeoutMs: number;
  /** Sent on connect (and again, if a function, whenever it returns bytes for the bytes received so far). */
  readonly greeting?: Buffer;
  /** Looks at everything received so far: a verdict, or undefined to wait for more. `send` writes more. */
  readonly read: (received: Buffer, send: (bytes: Buffer) => void) => Verdict;
}

function exchange({ address, timeoutMs, greeting, read }: Exchange): Promise<ProbeResult> {
  const where = `${address.host}:${address.port}`;
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host: address.host, port: address.port });
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no answer from ${where} within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => {
      if (greeting) socket.write(greeting);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let verdict: Verdict;
      try {
        verdict = read(received, (bytes) => socket.write(bytes));
      } catch (error) {
        verdict = { ok: false, reason: `unexpected answer from ${where}: ${(error as Error).message}` };
      }
      if (verdict) finish(verdict);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, reason: `${where}: ${error.code ?? error.message}` }));
    socket.once('close', () => finish({ ok: false, reason: `${where} closed the connection without a full answer` }));
  });
}

const credentials = (url: string | undefined): { user?: string; password?: string; path?: string } => {
  if (!url || !url.includes('://')) return {};
  try {
    const parsed = new URL(url);
    const out: { user?: string; password?: string; path?: string } = {};
    if (parsed.username) out.user = decodeURIComponent(parsed.username);
    if (parsed.password) out.password = decodeURIComponent(parsed.password);
    if (parsed.pathname.length > 1) out.path = decodeURIComponent(parsed.pathname.slice(1));
    return out;
  } catch {
    return {};
  }
};

/** Redis: PING answered by +PONG (AUTH first when the URL has a password); -LOADING is "not ready yet". */
export function probeRedis(address: ParsedAddress, url: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const { user, password } = credentials(url);
  const command = (...parts: string[]) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  const auth = password === undefined ? '' : user && user !== 'default' ? command('AUTH', user, password) : command('AUTH', password);
  const expected = auth ? 2 : 1;
  return exchange({
    address,
    timeoutMs,
    greeting: Buffer.from(auth + command('PING')),
    read: (received) => {
      const lines = received.toString('latin1').split('\r\n').slice(0, -1);
      if (lines.length < expected) return undefined;
      const bad = lines.slice(0, expected).find((line) => !line.startsWith('+'));
      if (bad !== undefined) return { ok: false, reason: bad.startsWith('-') ? `Redis answered ${bad}` : `not a Redis server (${JSON.stringify(bad.slice(0, 40))})` };
      return lines[expected - 1] === '+PONG' ? { ok: true, detail: 'Redis answered PING with PONG' } : { ok: false, reason: `Redis answered PING with ${lines[expected - 1]}` };
    },
  });
}

/** AMQP 0-9-1: the protocol header answered by a connection.start method frame. */
export function probeAmqp(address: ParsedAddress, timeoutMs: number): Promise<ProbeResult> {
  return exchange({
    address,
    timeoutMs,
    greeting: Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]),
    read: (received) => {
      if (received.length < 11) return undefined;
      if (received.subarray(0, 4).toString('latin1') === 'AMQP') return { ok: false, reason: `the server does not speak AMQP 0-9-1 (it answered with protocol header ${[...received.subarray(4, 8)].join('.')})` };
      const start = received[0] === 1 && received.readUInt16BE(7) === 10 && received.readUInt16BE(9) === 10;
      return start ? { ok: true, detail: 'AMQP 0-9-1 connection.start received' } : { ok: false, reason: 'not an AMQP 0-9-1 server' };
    },
  });
}

/** AMQP 1.0 with SASL: the SASL protocol header answered by the same header and a sasl-mechanisms frame. */
export function probeAmqp10(address: ParsedAddress, timeoutMs: number): Promise<ProbeResult> {
  const header = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
  return exchange({
    address,
    timeoutMs,
    greeting: header,
    read: (received) => {
      if (received.length < 8) return undefined;
      if (!received.subarray(0, 8).equals(header)) return { ok: false, reason: `not an AMQP 1.0 SASL server (header ${[...received.subarray(0, 8)].join(' ')})` };
      if (received.length < 8 + 8) return undefined;
      const body = 8 + (received[8 + 4] as number) * 4;
      if (received.length < body + 3) return undefined;
      const mechanisms = received[body] === 0x00 && received[body + 1] === 0x53 && received[body + 2] === 0x40;
      return mechanisms ? { ok: true, detail: 'AMQP 1.0 sasl-mechanisms received' } : { ok: false, reason: 'AMQP 1.0 server sent no sasl-mechanisms frame' };
    },
  });
}

// --- Kafka: ApiVersions v0 (which Metadata versions?), then Metadata: a broker that lists an alive
// broker has registered with its controller, i.e. serves clients.

function kafkaRequest(apiKey: number, version: number, correlationId: number, body: Buffer): Buffer {
  const client = Buffer.from('omnibus-testing');
  const head = Buffer.alloc(10);
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(version, 2);
  head.writeInt32BE(correlationId, 4);
  head.writeInt16BE(client.length, 8);
  const payload = Buffer.concat([head, client, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

const kafkaResponse = (received: Buffer): Buffer | undefined => {
  if (received.length < 4) return undefined;
  const size = received.readInt32BE(0);
  return received.length < 4 + size ? undefined : received.subarray(4, 4 + size);
};

function metadataRequestBody(version: number): Buffer {
  // topics: an empty array (no topics, brokers only); v4+: allow_auto_topic_creation; v8+: two authorized-operations flags.
  return Buffer.from([0, 0, 0, 0, ...(version >= 4 ? [0] : []), ...(version >= 8 ? [0, 0] : [])]);
}

function metadataBrokers(frame: Buffer, version: number): string[] {
  let at = 4 + (version >= 3 ? 4 : 0); // correlation id, throttle time
  const count = frame.readInt32BE(at);
  at += 4;
  const brokers: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const node = frame.readInt32BE(at);
    const hostLength = frame.readInt16BE(at + 4);
    const host = frame.subarray(at + 6, at + 6 + hostLength).toString('utf8');
    at += 6 + hostLength;
    const port = frame.readInt32BE(at);
    const rackLength = frame.readInt16BE(at + 4);
    at += 6 + Math.max(rackLength, 0);
    brokers.push(`${node}@${host}:${port}`);
  }
  return brokers;
}

export async function probeKafka(address: ParsedAddress, timeoutMs: number): Promise<ProbeResult> {
  let metadata: { min: number; max: number } | undefined;
  const versions = await exchange({
    address,
    timeoutMs,
    greeting: kafkaRequest(18, 0, 1, Buffer.alloc(0)),
    read: (received) => {
      const frame = kafkaResponse(received);
      if (!frame) return undefined;
      if (frame.length < 10 || frame.readInt32BE(0) !== 1) return { ok: false, reason: 'not a Kafka broker (no ApiVersions answer)' };
      const error = frame.readInt16BE(4);
      if (error !== 0) return { ok: false, reason: `Kafka answered ApiVersions with error code ${error}` };
      const count = frame.readInt32BE(6);
      for (let i = 0, at = 10; i < count; i += 1, at += 6) {
        if (frame.readInt16BE(at) === 3) metadata = { min: frame.readInt16BE(at + 2), max: frame.readInt16BE(at + 4) };
      }
      return metadata ? { ok: true, detail: 'ApiVersions' } : { ok: false, reason: 'the Kafka broker lists no Metadata API' };
    },
  });
  if (!versions.ok || !metadata) return versions;
  const version = Math.min(8, metadata.max);
  if (version < Math.max(1, metadata.min)) return { ok: false, reason: `the Kafka broker supports Metadata v${metadata.min}..v${metadata.max}, none of v1..v8` };
  return exchange({
    address,
    timeoutMs,
    greeting: kafkaRequest(3, version, 2, metadataRequestBody(version)),
    read: (received) => {
      const frame = kafkaResponse(received);
      if (!frame) return undefined;
      const brokers = metadataBrokers(frame, version);
      return brokers.length > 0
        ? { ok: true, detail: `Kafka Metadata lists ${brokers.join(', ')}` }
        : { ok: false, reason: 'Kafka answers but lists no alive broker yet' };
    },
  });
}

/**
 * NATS with JetStream: the server's INFO, then CONNECT (with the URL's user/password or token) and a
 * $JS.API.INFO request answered with account info, so JetStream is enabled and has recovered its streams.
 */
export function probeNats(address: ParsedAddress, url: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const { user, password } = credentials(url);
  const inbox = `_INBOX.omnibus-testing-${process.pid}-${Date.now().toString(36)}`;
  let sent = false;
  return exchange({
    address,
    timeoutMs,
    read: (received, send) => {
      const text = received.toString('utf8');
      const infoEnd = text.indexOf('\r\n');
      if (infoEnd < 0) return undefined;
      if (!text.startsWith('INFO ')) return { ok: false, reason: `not a NATS server (${JSON.stringify(text.slice(0, 40))})` };
      if (!sent) {
        sent = true;
        const info = JSON.parse(text.slice(5, infoEnd)) as { jetstream?: boolean; version?: string };
        if (!info.jetstream) return { ok: false, reason: `NATS ${info.version ?? ''} answers without JetStream (start nats-server with -js)`.replace('  ', ' ') };
        const connect: Record<string, unknown> = { verbose: false, pedantic: false, headers: true, no_responders: true, name: 'omnibus-testing-probe', lang: 'node', version: '0' };
        if (user !== undefined && password !== undefined) Object.assign(connect, { user, pass: password });
        else if (user !== undefined) connect.auth_token = user;
        send(Buffer.from(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${inbox} 1\r\nPUB $JS.API.INFO ${inbox} 0\r\n\r\n`));
        return undefined;
      }
      const rest = text.slice(infoEnd + 2);
      const error = /^-ERR (.*)$/m.exec(rest);
      if (error) return { ok: false, reason: `NATS answered -ERR ${error[1] ?? ''}` };
      const status = /HMSG \S+ 1 \d+ \d+\r\nNATS\/1\.0 (\d+)/.exec(rest);
      if (status) return { ok: false, reason: `JetStream is not ready (status ${status[1] ?? '?'} to $JS.API.INFO)` };
      const message = /MSG \S+ 1 (\d+)\r\n/.exec(rest);
      if (!message) return undefined;
      const start = (message.index ?? 0) + message[0].length;
      const payload = Buffer.from(rest.slice(start), 'utf8');
      const size = Number(message[1]);
      if (payload.length < size) return undefined;
      const answer = JSON.parse(payload.subarray(0, size).toString('utf8')) as { type?: string; error?: { description?: string } };
      if (answer.error) return { ok: false, reason: `JetStream answered $JS.API.INFO with an error: ${answer.error.description ?? JSON.stringify(answer.error)}` };
      return { ok: true, detail: 'JetStream answered $JS.API.INFO' };
    },
  });
}

/**
 * PostgreSQL: a StartupMessage (the URL's user and database) answered by authentication. Trust
 * authentication must reach ReadyForQuery; a password request means the server accepts connections.
 * 57P03 ("the database system is starting up") is "not ready yet".
 */
export function probePostgres(address: ParsedAddress, url: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const { user = 'postgres', path } = credentials(url);
  const database = path ?? user;
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196_608, 4); // protocol 3.0
  return exchange({
    address,
    timeoutMs,
    greeting: Buffer.concat([startup, params]),
    read: (received) => {
      for (let at = 0; at + 5 <= received.length; ) {
        const type = String.fromCharCode(received[at] as number);
        const length = received.readInt32BE(at + 1);
        if (at + 1 + length > received.length) return undefined;
        const body = received.subarray(at + 5, at + 1 + length);
        if (type === 'E') {
          const fields = new Map<string, string>();
          for (const field of body.toString('utf8').split('\0')) if (field) fields.set(field[0] as string, field.slice(1));
          const code = fields.get('C') ?? '?';
          return { ok: false, reason: `PostgreSQL answered ${code}: ${fields.get('M') ?? ''}` };
        }
        if (type === 'R') {
          const auth = body.readInt32BE(0);
          if (auth !== 0) return { ok: true, detail: `PostgreSQL asks for authentication (method ${auth})` };
        } else if (type === 'Z') {
          return { ok: true, detail: `PostgreSQL ready for queries on database ${database}` };
        } else if (!'SKN'.includes(type)) {
          return { ok: false, reason: `not a PostgreSQL server (message ${JSON.stringify(type)})` };
        }
        at += 1 + length;
      }
      return undefined;
    },
  });
}

/** SQS (ElasticMQ): a ListQueues call in the query protocol answered with a ListQueuesResponse. */
export function probeSqs(address: ParsedAddress, timeoutMs: number): Promise<ProbeResult> {
  const where = `${address.host}:${address.port}`;
  return new Promise((resolve) => {
    const body = 'Action=ListQueues&Version=2012-11-05&QueueNamePrefix=omnibus-testing-probe-';
    const request = http.request(
      { host: address.host, port: address.port, method: 'POST', path: '/', timeout: timeoutMs, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve(
            response.statusCode === 200 && text.includes('ListQueuesResponse')
              ? { ok: true, detail: 'SQS ListQueues answered' }
              : { ok: false, reason: `${where} answered ListQueues with HTTP ${response.statusCode ?? '?'}` },
          ),
        );
        response.on('error', (error) => resolve({ ok: false, reason: `${where}: ${error.message}` }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reason: `${where}: ${error.code ?? error.message}` }));
    request.end(body);
  });
}

/** The probe of `kind` at `address` (`url`: credentials, database). */
export function probeBroker(kind: BrokerKind, address: ParsedAddress, url: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  switch (kind) {
    case 'rabbitmq':
      return probeAmqp(address, timeoutMs);
    case 'kafka':
      return probeKafka(address, timeoutMs);
    case 'redis':
      return probeRedis(address, url, timeoutMs);
    case 'nats':
      return probeNats(address, url, timeoutMs);
    case 'postgres':
      return probePostgres(address, url, timeoutMs);
    case 'amqp10':
      return probeAmqp10(address, timeoutMs);
    case 'sqs':
      return probeSqs(address, timeoutMs);
  }
}

/** Probe until ready, `alive()` says the process is gone, or `timeoutMs` passes; the last failure otherwise. */
export async function waitUntilReady(probe: () => Promise<ProbeResult>, timeoutMs: number, alive: () => string | undefined = () => undefined): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let last: ProbeResult = { ok: false, reason: 'not probed' };
  for (;;) {
    last = await probe();
    if (last.ok) return last;
    const gone = alive();
    if (gone) return { ok: false, reason: `${gone} (last probe: ${last.reason})` };
    if (Date.now() >= deadline) return { ok: false, reason: `not ready within ${timeoutMs} ms (last probe: ${last.reason})` };
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
