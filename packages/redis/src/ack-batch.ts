import type { HeldEntry } from './delivery.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Where the current turn of the event loop stands for a subscription:
 * - `quiet`: nothing settled in it;
 * - `ending`: something settled, its end is scheduled (setImmediate), with the acks settled so far
 *   and, once there is one, what their ack() calls wait for.
 */
type Turn = { readonly name: 'quiet' } | { readonly name: 'ending'; readonly acks: HeldEntry[]; sent?: { readonly promise: Promise<void>; readonly resolve: () => void } };

/** What an ack batch needs from its subscription. */
export interface AckBatchContext {
  readonly client: ScriptedRedis;
  readonly group: string;
  /** False once the transport closed its connection: acks are then dropped. */
  readonly isOpen: () => boolean;
  /** After each turn end's acks went out: the read loop refills the capacity freed. */
  readonly onTurnEnd: () => void;
  readonly report: (error: unknown, what: string) => void;
}

/**
 * Acks are batched: those settled in one turn of the event loop go out together on the next
 * (setImmediate), as one XACK with every id per stream (plus XDEL for redelivery entries, in the
 * same MULTI). A plain XACK, without the ownership check nacks make: an ack always follows a
 * finished handler, so acking an entry that another member claimed meanwhile only marks a
 * processed message as done (see README, Delivery semantics).
 *
 * Any settle (a nack too) ends the turn soon: the read loop then refills the capacity freed with
 * one read instead of one per settled delivery.
 */
export class AckBatch {
  private turn: Turn = { name: 'quiet' };

  constructor(private readonly ctx: AckBatchContext) {}

  /** Queue an ack for the end of this turn; resolves once it was sent (never rejects). */
  add(entry: HeldEntry): Promise<void> {
    if (!this.ctx.isOpen()) return Promise.resolve();
    const turn = this.ending();
    turn.acks.push(entry);
    if (!turn.sent) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      turn.sent = { promise, resolve };
    }
    return turn.sent.promise;
  }

  /** Schedule the end of this turn (once per turn): its acks go out, then onTurnEnd. */
  endTurnSoon(): void {
    this.ending();
  }

  private ending(): Extract<Turn, { name: 'ending' }> {
    if (this.turn.name === 'ending') return this.turn;
    const turn: Extract<Turn, { name: 'ending' }> = { name: 'ending', acks: [] };
    this.turn = turn;
    setImmediate(() => {
      this.turn = { name: 'quiet' };
      const sent = turn.sent?.resolve ?? (() => {});
      void this.send(turn.acks).finally(sent);
      this.ctx.onTurnEnd();
    });
    return turn;
  }

  /** What the acks queued in this turn wait for (undefined when none is queued). */
  get pending(): Promise<void> | undefined {
    return this.turn.name === 'ending' ? this.turn.sent?.promise : undefined;
  }

  /** Sends a turn's acks (synchronously, before its first await). Never rejects. */
  private async send(batch: readonly HeldEntry[]): Promise<void> {
    if (batch.length === 0 || !this.ctx.isOpen()) return;
    const { client, group } = this.ctx;
    const acks = new Map<string, string[]>();
    const deletes = new Map<string, string[]>();
    for (const entry of batch) {
      pushTo(acks, entry.stream, entry.id);
      if (entry.redelivery) pushTo(deletes, entry.stream, entry.id);
    }
    try {
      if (deletes.size === 0 && acks.size === 1) {
        for (const [stream, ids] of acks) await client.xack(stream, group, ...ids);
        return;
      }
      // Redelivery entries are deleted once acked; MULTI keeps XACK and XDEL together.
      const multi = client.multi();
      for (const [stream, ids] of acks) multi.xack(stream, group, ...ids);
      for (const [stream, ids] of deletes) multi.xdel(stream, ...ids);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    } catch (error) {
      this.ctx.report(error, `ack of ${batch.length} message(s) failed (they will be redelivered after the claim idle time)`);
    }
  }
}

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
