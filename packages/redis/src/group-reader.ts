import { compareIds, createGroup } from './groups.js';
import { Halt, HALTED } from './halt.js';
import type { ScriptedRedis } from './scripts.js';

/** Where the entries a reader reads or claims go: the subscription that owns them. */
export interface EntrySink {
  /** Entries there is room for now (fewer than `concurrency` buffered and unsettled). */
  room(): number;
  /** Own an entry read or claimed (`deliveryCount`: what Redis counted for it). */
  take(stream: string, id: string, rawFields: unknown, deliveryCount: number): void;
}

export interface GroupReaderSettings {
  readonly group: string;
  readonly consumer: string;
  readonly topicKey: string;
  readonly retryKey: string;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly consumerExpiryMs: number;
}

/**
 * One consumer's commands on its blocking connection: XREADGROUP on the topic stream and the
 * group's redelivery stream together, XAUTOCLAIM of entries dead consumers left (now and then,
 * and in steps while a scan is unfinished), reaping consumers that expired, and recreating a lost
 * group. Every command is abandoned on halt() (a subscription's stop()).
 */
export class GroupReader {
  private readonly cursors = new Map<string, string>();
  /** Newest topic-stream entry seen: where a lost group is recreated from. */
  private lastSeen = '0-0';
  /** Claim at once: entries left by consumers that died before this one started. */
  private nextClaimAt = Date.now();
  private nextReapAt: number;
  private readonly halted = new Halt();

  constructor(
    private readonly blocking: ScriptedRedis,
    private readonly settings: GroupReaderSettings,
    private readonly sink: EntrySink,
    from: string,
  ) {
    this.lastSeen = from;
    this.nextReapAt = Date.now() + Math.min(settings.consumerExpiryMs, 60_000);
  }

  /** A claim scan is due (or unfinished). */
  get claimDue(): boolean {
    return Date.now() >= this.nextClaimAt;
  }

  /** Abandon every command in flight and every later one (idempotent). */
  halt(): void {
    this.halted.trigger();
  }

  /** XREADGROUP on both streams; `blockMs` undefined: do not block. */
  async read(count: number, blockMs: number | undefined): Promise<void> {
    const { group, consumer, topicKey, retryKey } = this.settings;
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const reply: unknown = await this.unlessHalted(this.blocking.callBuffer('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, ...block, 'STREAMS', topicKey, retryKey, '>', '>'));
    if (!Array.isArray(reply)) return;
    for (const streamReply of reply) {
      if (!Array.isArray(streamReply)) continue;
      const stream = String(streamReply[0]);
      const entries: unknown = streamReply[1];
      if (!Array.isArray(entries)) continue;
      let newest: string | undefined;
      for (const raw of entries) {
        if (!Array.isArray(raw)) continue;
        const id = String(raw[0]);
        newest = id;
        this.sink.take(stream, id, raw[1], 1);
      }
      // A stream's entries come in id order: only the last one can move lastSeen.
      if (stream === topicKey && newest !== undefined && compareIds(newest, this.lastSeen) > 0) this.lastSeen = newest;
    }
  }

  /** XAUTOCLAIM on both streams, as many entries as there is room for; reaping when due. */
  async claim(): Promise<void> {
    const { group, consumer, claimIdleMs, topicKey, retryKey } = this.settings;
    let more = false;
    for (const stream of [topicKey, retryKey]) {
      const room = this.sink.room();
      if (room <= 0) {
        more = true;
        break;
      }
      const reply = await this.unlessHalted(this.blocking.omnibusClaimBuffer(stream, group, consumer, claimIdleMs, this.cursors.get(stream) ?? '0-0', room));
      if (reply === HALTED) return;
      if (!Array.isArray(reply)) continue;
      const [cursor, entries, counts] = reply as [unknown, unknown, unknown];
      const next = String(cursor);
      this.cursors.set(stream, next);
      if (next !== '0-0') more = true;
      if (!Array.isArray(entries)) continue;
      entries.forEach((raw: unknown, index) => {
        if (!Array.isArray(raw)) return;
        const count = Array.isArray(counts) ? Number(counts[index]) : 1;
        this.sink.take(stream, String(raw[0]), raw[1], count);
      });
    }
    this.nextClaimAt = more ? Date.now() : Date.now() + this.settings.claimIntervalMs;
    if (Date.now() >= this.nextReapAt) {
      const { consumerExpiryMs } = this.settings;
      this.nextReapAt = Date.now() + Math.min(consumerExpiryMs, 60_000);
      for (const stream of [topicKey, retryKey]) await this.unlessHalted(this.blocking.omnibusReap(stream, group, consumerExpiryMs, ''));
    }
  }

  /** Recreate a lost group (NOGROUP) on `client`, after the newest entry seen; returns where from. */
  async recreateGroups(client: ScriptedRedis): Promise<string> {
    const { group, topicKey, retryKey } = this.settings;
    await createGroup(client, topicKey, group, this.lastSeen);
    await createGroup(client, retryKey, group, '0');
    this.cursors.clear();
    return this.lastSeen;
  }

  /**
   * A command on the blocking connection, abandoned on halt(): while ioredis waits to
   * reconnect, a queued command would only fail after its timeout, and stop() must be prompt.
   */
  private unlessHalted<T>(command: Promise<T>): Promise<T | typeof HALTED> {
    return this.halted.race(command);
  }
}
