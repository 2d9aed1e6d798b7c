import { DEAD_LETTER_GROUP, type Bus, type Count } from '@omnibus/core';

/**
 * How many dead letters the broker keeps for the dead-letter group, when it counts them exactly
 * (waiting, handed over and not settled, and waiting for a redelivery). Only shortens a scan's
 * wait at the end; `undefined` where the transport cannot inspect or only estimates.
 */
export async function expectedDeadLetters(bus: Bus, deadLetterTopic: string): Promise<number | undefined> {
  if (typeof bus.transport.inspect !== 'function') return undefined;
  try {
    const inspection = await bus.transport.inspect?.(deadLetterTopic, DEAD_LETTER_GROUP);
    const group = inspection?.groups.find((g) => g.group === DEAD_LETTER_GROUP);
    if (!group) return undefined;
    const counts: (Count | undefined)[] = [group.waiting, group.inFlight, group.delayed];
    if (counts.some((count) => count !== undefined && !count.exact) || group.waiting === undefined) return undefined;
    return counts.reduce((sum, count) => sum + (count?.value ?? 0), 0);
  } catch {
    return undefined;
  }
}
