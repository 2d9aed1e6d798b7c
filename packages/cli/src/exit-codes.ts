/** What the process exit code says: scripts and CI branch on it. */
export const ExitCodes = {
  /** The command did what it was asked. */
  ok: 0,
  /** It could not: the broker refused, a body did not validate, a replay was interrupted. */
  failure: 1,
  /** The command line itself is wrong (unknown option, missing argument, no broker URL). */
  usage: 2,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** A mistake on the command line: exit code 2, with a message that says what to do. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and could not finish (interrupted, partly done): exit code 1 with this message. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

/** The input given is wrong (a body that is not JSON or fails its schema): exit code 1, nothing was sent. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
