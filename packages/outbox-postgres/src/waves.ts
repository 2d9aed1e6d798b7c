import type { OutboxRow } from './rows.js';

/**
 * Splits a claimed batch (sorted by seq) into waves: wave n holds the n-th row of every key, and
 * every row without a key is in wave 0. A wave is published at once; the next one only after it
 * resolved, and only for keys whose row in it was accepted. So a row of a key is handed to the
 * broker only after the previous row of that key was durably accepted: no retry of an earlier
 * row can land after a later one.
 */
export function waves(rows: readonly OutboxRow[]): OutboxRow[][] {
  const result: OutboxRow[][] = [];
  const depth = new Map<string, number>();
  for (const row of rows) {
    let index = 0;
    if (row.key !== null) {
      index = depth.get(row.key) ?? 0;
      depth.set(row.key, index + 1);
    }
    (result[index] ??= []).push(row);
  }
  return result;
}

/** Rows of one wave grouped by topic and content type: one publishBatch call each. */
export function byTopic(rows: readonly OutboxRow[]): OutboxRow[][] {
  const groups = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const id = `${row.content_type}\u0000${row.topic}`;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = []));
    group.push(row);
  }
  return [...groups.values()];
}
