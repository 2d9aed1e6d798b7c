/** A row as the relay reads it (`seq` is int8, which pg gives as a string). */
export interface OutboxRow {
  readonly seq: string;
  readonly id: string;
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Record<string, string> | null;
  readonly body: Buffer;
  readonly content_type: string;
  readonly deliver_at: Date | null;
  readonly attempts: number;
}

/** What `onPublished` is told of each row the broker accepted. */
export interface PublishedRow {
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** Position in the outbox (insert order). */
  readonly seq: string;
  /** Failed publishes of this row before this one. */
  readonly attempts: number;
}

export const bySeq = (a: OutboxRow, b: OutboxRow): number => {
  const x = BigInt(a.seq);
  const y = BigInt(b.seq);
  return x < y ? -1 : x > y ? 1 : 0;
};
