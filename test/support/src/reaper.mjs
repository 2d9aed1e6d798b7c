// Watchdog for processes.ts. The test process starts one reaper per file and tells it, on its
// stdin, which processes it started (`+pid`, `-pid`) and which temporary directories it made
// (`d/path`, `r/path`). When the test process goes away by any route (normal exit, crash,
// SIGKILL from a timeout), the pipe closes and the reaper kills what is left and removes the dirs.
// Node builtins only; never kills anything it was not told about.
import { rmSync } from 'node:fs';

const pids = new Set();
const dirs = new Set();
let buffer = '';

function apply(line) {
  const op = line[0];
  const arg = line.slice(1);
  if (op === '+') pids.add(Number(arg));
  else if (op === '-') pids.delete(Number(arg));
  else if (op === 'd') dirs.add(arg);
  else if (op === 'r') dirs.delete(arg);
}

let reaped = false;
function reap() {
  if (reaped) return;
  reaped = true;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  process.exit(0);
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
    apply(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
  }
});
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
process.on('SIGTERM', reap);
process.on('SIGINT', reap);
process.on('SIGHUP', reap);
