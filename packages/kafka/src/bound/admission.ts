import type { Backlog } from './backlog.js';

/** One publish call waiting to be let into a bounded topic. */
export interface AdmissionRequest {
  /** Messages of the call that count against the bound. */
  readonly count: number;
  readonly maxMessages: number;
  /** Most messages let in per round (one backlog read); a larger call goes alone. */
  readonly perRound: number;
  /** A refusal is final only on a backlog read started this long after the call arrived (see Admission). */
  readonly graceMs: number;
  /** Reads the topic's backlog now (the requesting transport's own connection). */
  readonly read: () => Promise<Backlog>;
  /** Writes the call's records; the next round reads the backlog only after it settled. */
  readonly send: () => Promise<void>;
  /** The error of a call that does not fit. */
  readonly refuse: (backlog: Backlog) => Error;
}

interface Waiting {
  readonly request: AdmissionRequest;
  readonly arrivedAt: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Check-and-send for one bounded Kafka topic, serialized: each round reads the backlog, lets
 * in the calls that fit, up to `perRound` messages (1 by default: one call), sends them and
 * waits for the broker's acknowledgement before the next round reads again. So nothing passes
 * between a check and its send in this process, and the bound is exact here. Another
 * process's publishes are seen only once acknowledged, so across processes the overshoot is
 * at most one round per other process: `perRound` messages (or one larger call) each. A
 * round costs a backlog read and a produce round trip, so `perRound` also multiplies the
 * throughput of one process (letting in every call that fits would let each process
 * overshoot by up to a whole bound).
 *
 * Committed offsets trail processing by up to a commit interval, so a read can still count
 * what consumers just settled: a call that does not fit is refused only by a read started
 * `graceMs` after it arrived (and let in as soon as a read finds room).
 */
export class Admission {
  private readonly queue: Waiting[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onIdle: () => void) {}

  admit(request: AdmissionRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ request, arrivedAt: Date.now(), resolve, reject });
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      while (this.queue.length > 0) {
        const readFor = this.queue[0] as Waiting;
        const startedAt = Date.now();
        let backlog: Backlog;
        try {
          backlog = await readFor.request.read();
        } catch (error) {
          // The reading connection failed: that call fails (a call of another transport reads with its own next round).
          this.remove(readFor).reject(error);
          continue;
        }
        const admitted: Waiting[] = [];
        let letIn = 0;
        for (const waiting of [...this.queue]) {
          const { count, maxMessages, perRound, graceMs } = waiting.request;
          if (backlog.messages + letIn + count <= maxMessages) {
            if (admitted.length === 0 || letIn + count <= perRound) {
              admitted.push(this.remove(waiting));
              letIn += count;
            }
          } else if (startedAt >= waiting.arrivedAt + graceMs) this.remove(waiting).reject(waiting.request.refuse(backlog));
        }
        if (admitted.length > 0) {
          await Promise.all(admitted.map((waiting) => waiting.request.send().then(waiting.resolve, waiting.reject)));
          continue;
        }
        // Nothing fits yet: read again when the earliest grace ends (a new call reads at once).
        if (this.queue.length > 0) {
          const next = Math.min(...this.queue.map((waiting) => waiting.arrivedAt + waiting.request.graceMs));
          this.timer = setTimeout(() => void this.run(), Math.max(0, next - Date.now()));
        }
        return;
      }
    } finally {
      this.running = false;
      if (this.queue.length === 0) this.onIdle();
      else if (!this.timer) void this.run();
    }
  }

  private remove(waiting: Waiting): Waiting {
    this.queue.splice(this.queue.indexOf(waiting), 1);
    return waiting;
  }
}

/**
 * The admissions of this process, one per (cluster, Kafka topic). Shared on purpose by every
 * transport of the process: two buses of one application on one cluster must not let each
 * other overshoot. An entry lives only while calls wait for it.
 */
const admissions = new Map<string, Admission>();

/** Queue a call for the admission of (cluster, Kafka topic); never hold an Admission across calls (it is dropped when idle). */
export function admit(cluster: readonly string[], kafkaTopic: string, request: AdmissionRequest): Promise<void> {
  const key = `${[...cluster].sort().join(',')}/${kafkaTopic}`;
  let admission = admissions.get(key);
  if (!admission) {
    const created = new Admission(() => {
      if (admissions.get(key) === created) admissions.delete(key);
    });
    admissions.set(key, created);
    admission = created;
  }
  return admission.admit(request);
}
