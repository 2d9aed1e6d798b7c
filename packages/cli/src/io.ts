/**
 * Everything a command touches outside itself, so that main() can be run in-process by a test
 * and by the bin alike. Data goes to stdout (JSON lines with --json), messages and progress to
 * stderr, so `omnibus dlq list t --json | jq` stays clean.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ctrl-C (SIGINT) and SIGTERM: aborted on the first one. */
  readonly interrupt: AbortSignal;
}

/** The process's own streams and environment. */
export function processIo(interrupt: AbortSignal): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, interrupt };
}

/** Write one line (a trailing newline is added). */
export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
