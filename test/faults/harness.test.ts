// Self-test of the fault harness (no broker needed): the proxy (from @omnibus/test-support) really
// forwards, cuts, stalls, blackholes and refuses; the ledger's arithmetic and summary line; managed
// processes and dirs are cleaned up.
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishError, Signal } from '@omnibus/core';
import { cleanupAll, spawnManaged, tempDir, TcpProxy } from '@omnibus/test-support';
import { Ledger } from './harness/ledger.js';

// Socket events notify this; tests await conditions on it (no polling).
const io = new Signal();
const until = (condition: () => boolean, what: string) => io.until(condition, 5_000, () => what);

/** An echo server that counts the connections it saw close (and keeps its side of each, to write on). */
async function echoServer(): Promise<{ port: number; closes: () => number; server: net.Server; sockets: net.Socket[] }> {
  let closes = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      closes += 1;
      io.notify();
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, closes: () => closes, server, sockets };
}

/** A client that collects what it receives. */
function client(port: number): { socket: net.Socket; received: () => string; ended: Promise<string> } {
  const socket = net.connect({ host: '127.0.0.1', port });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    io.notify();
  });
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve('close'));
  });
  return { socket, received: () => text, ended };
}

/** One echo round trip straight to the server (not through the proxy): real I/O has happened since. */
async function roundTrip(port: number): Promise<void> {
  const direct = client(port);
  direct.socket.write('ping');
  await until(() => direct.received() === 'ping', 'a direct echo');
  direct.socket.destroy();
}

describe('fault harness: TcpProxy', () => {
  const open: { close: () => unknown }[] = [];
  afterEach(async () => {
    for (const item of open.splice(0)) await item.close();
  });
  /** An echo server behind a proxy, both closed after the test. */
  const proxiedEcho = async () => {
    const echo = await echoServer();
    open.push({ close: () => new Promise((r) => echo.server.close(r)) });
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echo.port });
    open.push(proxy);
    return { echo, proxy };
  };
  /** A client through the proxy on `port` that got its first echo ('a') back: connected end to end. */
  const echoedClient = async (port: number) => {
    const c = client(port);
    c.socket.write('a');
    await until(() => c.received() === 'a', 'the first echo');
    return c;
  };

  it('forwards both ways, and cutAll() resets both sides', async () => {
    const { echo, proxy } = await proxiedEcho();
    const c = client(proxy.port);
    c.socket.write('hello');
    await until(() => c.received() === 'hello', 'the echo');
    expect(proxy.counters).toMatchObject({ accepted: 1, open: 1 });

    expect(proxy.cutAll()).toBe(1);
    expect(await c.ended).toMatch(/ECONNRESET|close/);
    await until(() => echo.closes() === 1, 'the upstream side to close');
    expect(proxy.counters).toMatchObject({ cut: 1, open: 0 });
  });

  it('stall() holds bytes and new connections; resume() delivers them', async () => {
    const { echo, proxy } = await proxiedEcho();
    const first = await echoedClient(proxy.port);

    proxy.stall();
    first.socket.write('b');
    const second = client(proxy.port);
    second.socket.write('c');
    await proxy.waitFor('accepted', 2, 5_000);
    // Bytes that got through would have come back by the time a direct round trip completes.
    await roundTrip(echo.port);
    await roundTrip(echo.port);
    expect(first.received()).toBe('a');
    expect(second.received()).toBe('');

    proxy.resume();
    await until(() => first.received() === 'ab' && second.received() === 'c', 'the held bytes');
    first.socket.destroy();
    second.socket.destroy();
  });

  it("stall('toBroker') holds client → broker bytes while broker → client bytes flow; resume() delivers them", async () => {
    const { echo, proxy } = await proxiedEcho();
    const c = await echoedClient(proxy.port);

    proxy.stall('toBroker');
    c.socket.write('b');
    echo.sockets[0]?.write('s');
    await until(() => c.received() === 'as', 'the bytes the broker sent');
    await roundTrip(echo.port);
    await roundTrip(echo.port);
    expect(c.received()).toBe('as');

    proxy.resume();
    await until(() => c.received() === 'asb', 'the held bytes');
    c.socket.destroy();
  });

  it('blackhole() keeps the connection open but drops its traffic both ways; new connections work', async () => {
    const { echo, proxy } = await proxiedEcho();
    const c = await echoedClient(proxy.port);

    expect(proxy.blackhole()).toBe(1);
    let atBroker = '';
    echo.sockets[0]?.on('data', (chunk: Buffer) => (atBroker += chunk.toString('utf8')));
    c.socket.write('b');
    echo.sockets[0]?.write('s');
    await roundTrip(echo.port);
    await roundTrip(echo.port);
    expect(atBroker).toBe('');
    expect(c.received()).toBe('a');
    expect(c.socket.destroyed).toBe(false);
    expect(proxy.counters).toMatchObject({ open: 1, cut: 0 });

    const d = client(proxy.port);
    d.socket.write('c');
    await until(() => d.received() === 'c', 'the echo on a new connection');
    c.socket.destroy();
    d.socket.destroy();
  });

  it('refuse() resets new connections until accept()', async () => {
    const { proxy } = await proxiedEcho();
    proxy.refuse();
    const refused = client(proxy.port);
    expect(await refused.ended).toMatch(/ECONNRESET|close/);
    expect(proxy.counters.refused).toBe(1);

    proxy.accept();
    const c = client(proxy.port);
    c.socket.write('back');
    await until(() => c.received() === 'back', 'the echo after accept()');
    c.socket.destroy();
  });
});

describe('fault harness: Ledger', () => {
  it('counts lost and duplicate ids and prints the summary line', async () => {
    const ledger = new Ledger('memory', 'self-test');
    for (const id of ['a', 'b', 'c']) ledger.published(id);
    ledger.received('a');
    ledger.received('a');
    ledger.received('b');
    ledger.received('x'); // published by a publish that rejected but was stored anyway
    ledger.rejected('x', new PublishError('refused'));
    ledger.rejected('y', new TypeError('a raw client error'));
    expect(ledger.summary()).toEqual({ published: 3, received: 3, lost: 1, duplicates: 1, rejected: 2 });
    expect(ledger.lostIds()).toEqual(['c']);
    expect(ledger.unexpectedErrors).toHaveLength(1);
    expect(ledger.line()).toMatch(/^\[faults\] memory self-test: published=3 received=3 lost=1 duplicates=1 \(/);

    const all = ledger.waitForAllReceived(5_000);
    ledger.received('c');
    await all;
    expect(ledger.summary().lost).toBe(0);
  });
});

describe('fault harness: processes', () => {
  it('cleanupAll() kills managed processes and removes temp dirs', async () => {
    const dir = tempDir('self-test');
    const child = await spawnManaged('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    expect(child.alive).toBe(true);
    expect(existsSync(dir)).toBe(true);
    await cleanupAll();
    expect(child.alive).toBe(false);
    expect(child.exitStatus?.signal).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(false);
  });
});
