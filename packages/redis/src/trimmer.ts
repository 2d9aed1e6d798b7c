import type { Keys } from './keys.js';
import type { TrimOptions } from './options.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Periodically trims the topic streams this transport published to or consumed.
 * The trim script never removes an entry a group still needs (see scripts.ts), so a
 * group that lags or holds pending entries keeps the stream long: no loss, more memory.
 */
export class Trimmer {
  private readonly topics = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly client: ScriptedRedis,
    private readonly keys: Keys,
    private readonly trim: TrimOptions,
    private readonly onError: (error: unknown) => void,
  ) {}

  touch(topic: string): void {
    if (!this.trim.enabled || this.stopped) return;
    this.topics.add(topic);
    if (!this.timer) {
      this.timer = setInterval(() => void this.runOnce(), this.trim.intervalMs);
      this.timer.unref();
    }
  }

  /** Trim every known topic once; resolves with the number of entries removed. */
  async runOnce(): Promise<number> {
    if (!this.trim.enabled || this.running || this.stopped) return 0;
    this.running = true;
    let removed = 0;
    try {
      for (const topic of this.topics) {
        removed += await this.client.omnibusTrim(this.keys.topic(topic), this.trim.maxLen ?? -1, this.trim.maxAgeMs ?? -1);
      }
    } catch (error) {
      if (!this.stopped) this.onError(error);
    } finally {
      this.running = false;
    }
    return removed;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
