/**
 * Depth and lag as the broker itself reports them (`bus.inspect`, backed by the optional
 * `Transport.inspect`). Every count says whether the broker counts it exactly or the
 * transport estimates it; a count the broker cannot give is `undefined`.
 */
export interface Count {
  readonly value: number;
  /** false: an estimate (e.g. a sum over partitions read at different moments, or a broker approximation). */
  readonly exact: boolean;
}

export interface GroupInspection {
  readonly group: string;
  /** Kept for the group and not handed to a consumer yet. */
  readonly waiting: Count | undefined;
  /** Handed to a consumer and not settled. */
  readonly inFlight: Count | undefined;
  /** Waiting for a delayed retry of this group. */
  readonly delayed: Count | undefined;
  /** How far the group is behind the end of the topic, where the broker measures it (offsets, entries). */
  readonly lag: Count | undefined;
}

export interface TopicInspection {
  readonly topic: string;
  readonly transport: string;
  /** When the broker was read. */
  readonly readAt: Date;
  /** Delayed publishes of the topic not due yet (shared by its groups). */
  readonly delayed: Count | undefined;
  /** Messages waiting in the topic's dead-letter topic for the `omnibus-dead-letter` group (filled in by core). */
  readonly deadLettered: Count | undefined;
  /** One entry per group asked for, or per group the broker knows of the topic. */
  readonly groups: readonly GroupInspection[];
}

/** What a transport's inspect returns: core adds the dead-letter count. */
export type TransportInspection = Omit<TopicInspection, 'deadLettered' | 'transport'>;
