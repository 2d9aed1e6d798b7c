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

const code = await main(process.argv.slice(2), processIo(interrupt.signal));
process.exitCode = code;
// Nothing of a command may keep the process alive after it returned (a client's timer, a socket).
setTimeout(() => process.exit(code), 2_000).unref();
