// Issue 12, item 6: an uncaught exception once came out of the pull worker's retry timer. The
// timer pumps again later; when the connection was closed meanwhile (the transport closing, a
// worker started late), nats.js' subscribe() throws at once, from inside the timer callback.
import { expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { Signal, silentLogger } from '@omnibus/core';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { Link } from '../src/link.js';
import { PullWorker } from '../src/pull-worker.js';
import { serverOf } from './helpers.js';

describeWithBroker('nats', 'nats pull worker', (endpoint) => {
  it('stops with an error, never an uncaught exception, when its connection is closed while a retry is pending', async () => {
    const nc = await connect({ servers: serverOf(endpoint.url) });
    const link = new Link(nc, silentLogger);
    link.watch();
    const errors: Error[] = [];
    const signal = new Signal();
    let recovered = 0;
    const worker = new PullWorker({
      link,
      // No such consumer: the pull gets "no responders" (503), and the worker heals and retries.
      stream: uniqueName('NO_STREAM'),
      consumer: 'none',
      concurrency: 4,
      expiresMs: 3_000,
      ackWaitMs: 3_000,
      requestTimeoutMs: 1_000,
      secrets: [],
      logger: silentLogger,
      onMessage: () => {},
      onError: (error) => {
        errors.push(error);
        signal.notify();
      },
      // The connection closes while the worker recovers: its retry timer fires on a closed connection.
      recover: async () => {
        recovered += 1;
        await nc.close();
      },
    });
    worker.start();
    await signal.until(() => errors.some((e) => /connection is closed/.test(e.message)), 10_000, () => `the worker to stop (errors: ${errors.map((e) => e.message).join(' | ')})`);
    expect(recovered).toBe(1);
    const stopped = errors.find((e) => /connection is closed/.test(e.message));
    expect(stopped).toMatchObject({ code: 'CONNECTION_FAILED' });
    await worker.close();
    await link.stop();
  });
});
