// What the burst test and its child share: the child's configuration and its report.
// Kept apart from burst-child.ts, whose import would run the child.
export interface BurstConfig {
  readonly transport: string;
  readonly url: string;
  readonly options: Record<string, unknown>;
  readonly topic: string;
  readonly group: string;
  readonly count: number;
  /** Body size: a string of this many characters (its JSON is 2 bytes more). */
  readonly bodyChars: number;
  /** How long the group may take to receive what was accepted, after the last publish settled. */
  readonly consumeTimeoutMs: number;
}

/** How one kind of rejection looked (grouped by name, code and message). */
export interface RejectionKind {
  readonly name: string;
  readonly code: string | undefined;
  readonly typed: boolean;
  readonly message: string;
  readonly count: number;
}

export interface BurstReport {
  readonly transport: string;
  readonly published: number;
  readonly rejected: number;
  readonly rejections: readonly RejectionKind[];
  /** Distinct accepted ids the group received. */
  readonly received: number;
  readonly peakRssMiB: number;
  readonly publishSeconds: number;
  readonly seconds: number;
  readonly uncaught: readonly string[];
}

export const REPORT_PREFIX = '[burst-report] ';
