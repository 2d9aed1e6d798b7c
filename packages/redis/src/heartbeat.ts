import type { HeldEntry } from './delivery.js';

/**
 * - `off`: not started, or stopped;
 * - `waiting`: started, no beat in flight;
 * - `beating`: a beat's commands are in flight (the next tick is skipped, never stacked).
 */
type State = 'off' | 'waiting' | 'beating';

/** What a heartbeat needs from its subscription. */
export interface HeartbeatContext {
  /** Every entry the consumer holds now (buffered or unsettled). */
  readonly held: () => ReadonlyMap<string, HeldEntry>;
  /** False once the transport closed its connection: no beat is sent. */
  readonly isOpen: () => boolean;
  /** Marks `ids` of `stream` as just delivered to this consumer (the heartbeat script). */
  readonly touch: (stream: string, ids: readonly string[]) => Promise<unknown>;
  readonly onError: (error: unknown) => void;
}

/** Keeps the entries a consumer holds from looking idle (and being claimed by another consumer). */
export class Heartbeat {
  private state: State = 'off';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: HeartbeatContext) {}

  start(intervalMs: number): void {
    if (this.state !== 'off') return;
    this.state = 'waiting';
    this.timer = setInterval(() => void this.beat(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.state = 'off';
  }

  private async beat(): Promise<void> {
    if (this.state !== 'waiting' || this.ctx.held().size === 0 || !this.ctx.isOpen()) return;
    this.state = 'beating';
    try {
      const byStream = new Map<string, string[]>();
      for (const entry of this.ctx.held().values()) byStream.set(entry.stream, [...(byStream.get(entry.stream) ?? []), entry.id]);
      for (const [stream, ids] of byStream) await this.ctx.touch(stream, ids);
    } catch (error) {
      this.ctx.onError(error);
    } finally {
      if (this.state === 'beating') this.state = 'waiting';
    }
  }
}
