#!/usr/bin/env node
import { processIo } from './io.js';
import { main } from './main.js';

// Ctrl-C (or SIGTERM) once: the command stops taking work, finishes what is in the air, releases
// what it held and exits. Twice: exit at once (whatever was not settled is redelivered by the broker).
const interrupt = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals += 1;
  if (signals === 1) {
    interrupt.abort(new Error(`${signal}`));
    return;
  }
  process.stderr.write(`\n${signal} again: exiting now (unsettled messages are redelivered by the broker)\n`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A reader that stops early (`omnibus tail … | head`, `omnibus --help | head -1`) closes the pipe:
// that ends the command the way Ctrl-C does, quietly, as for any Unix tool. Without a listener,
// the EPIPE of the next write was an unhandled 'error' event with a stack trace.
const onOutputError = (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  interrupt.abort(new Error('output closed'));
};
process.stdout.on('error', onOutputError);
process.stderr.on('error', onOutputError);

const code = await main(process.argv.slice(2), processIo(interrupt.signal));
process.exitCode = code;
// Nothing of a command may keep the process alive after it returned (a client's timer, a socket);
// but process.exit drops what a pipe has not taken yet (a 2 MB `dlq list --json` into a slow
// reader), so the clock starts once stdout and stderr are flushed.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
setTimeout(() => process.exit(code), 2_000).unref();
