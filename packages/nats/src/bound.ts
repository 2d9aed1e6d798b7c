import { DiscardPolicy, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { ConfigError, type TopicBound } from '@omnibus/core';

/**
 * The first nats-server that refuses exactly at `max_bytes` with `discard: new`. Before it, the
 * admission check left out each message's storage overhead (subject, framing), so a message
 * that did not fit was accepted and the file store then pruned the oldest messages to get
 * under the limit: accepted messages lost silently (nats-server issues 4771 and 4775, fixed by
 * PR 4772 in 2.10.5). Measured on 2.9.10: 12 of 12 bodies of 978 bytes accepted into a
 * `max_bytes: 8192` stream, 7 kept.
 */
export const EXACT_BYTES_LIMIT_SINCE = '2.10.5';

/** The stream settings that keep a bound (with the transport's own `maxBytes` option). */
export type BoundLimits = Required<Pick<StreamConfig, 'max_msgs' | 'max_bytes' | 'discard'>>;

/**
 * `max_msgs` / `max_bytes` from the bound, `discard: new` for `reject` (the server refuses the
 * message, nothing is stored) and `discard: old` for `drop-oldest`. A stream has one discard
 * policy for all its limits: the transport's `maxBytes` option, when set, is kept as a second
 * byte limit (the smaller wins) under the bound's policy.
 */
export function boundLimits(bound: TopicBound, optionMaxBytes: number): BoundLimits {
  const bytes = [bound.maxBytes, optionMaxBytes > 0 ? optionMaxBytes : undefined].filter((b): b is number => b !== undefined);
  return {
    max_msgs: bound.maxMessages ?? -1,
    max_bytes: bytes.length > 0 ? Math.min(...bytes) : -1,
    discard: bound.overflow === 'reject' ? DiscardPolicy.New : DiscardPolicy.Old,
  };
}

export function sameLimits(config: Partial<StreamConfig>, limits: BoundLimits): boolean {
  return (config.max_msgs ?? -1) === limits.max_msgs && (config.max_bytes ?? -1) === limits.max_bytes && (config.discard ?? DiscardPolicy.Old) === limits.discard;
}

/**
 * What applying `limits` to an existing stream would throw away: nats-server applies a lowered
 * `max_msgs` / `max_bytes` by deleting the oldest messages, with `discard: new` too (nats-server
 * issue 2589). Under a `reject` bound those are messages it promised to keep; undefined when
 * the stream holds no more than the new limits.
 */
export function overLimits(info: StreamInfo, limits: BoundLimits): string | undefined {
  const { messages, bytes } = info.state;
  if (limits.max_msgs > 0 && messages > limits.max_msgs) return `${messages} messages, over maxMessages ${limits.max_msgs}`;
  if (limits.max_bytes > 0 && bytes > limits.max_bytes) return `${bytes} bytes, over ${limits.max_bytes}`;
  return undefined;
}

/** Does this server refuse exactly at `max_bytes` with `discard: new` (see EXACT_BYTES_LIMIT_SINCE)? */
export function keepsBytesBound(serverVersion: string | undefined): boolean {
  return serverVersion !== undefined && compareVersions(serverVersion, EXACT_BYTES_LIMIT_SINCE) >= 0;
}

/**
 * Refuse a bound this server would not keep, before anything is created: a `reject` bound with a
 * byte limit (the bound's `maxBytes`, or the transport's `maxBytes` option, which the bound's
 * `discard: new` then applies to) on a server that loses messages at that limit.
 */
export function assertBoundKeepable(topic: string, bound: TopicBound, optionMaxBytes: number, serverVersion: string | undefined): void {
  if (bound.overflow !== 'reject' || keepsBytesBound(serverVersion)) return;
  const version = serverVersion ?? 'unknown';
  if (bound.maxBytes !== undefined) {
    throw new ConfigError('bound.maxBytes', `topic "${topic}": nats-server ${version} does not refuse exactly at a byte limit (it accepts a message that does not fit and then deletes the oldest, before ${EXACT_BYTES_LIMIT_SINCE}): use maxMessages, or nats-server ${EXACT_BYTES_LIMIT_SINCE} or later`);
  }
  if (optionMaxBytes > 0) {
    throw new ConfigError('bound', `topic "${topic}" is bounded with overflow "reject" and options.maxBytes is set: the stream's discard policy would then refuse at maxBytes too, which nats-server ${version} does not do exactly (it deletes the oldest, before ${EXACT_BYTES_LIMIT_SINCE}); leave options.maxBytes unset, or use nats-server ${EXACT_BYTES_LIMIT_SINCE} or later`);
  }
}

/** `a` before (< 0), equal to (0) or after (> 0) `b`, as `major.minor.patch` (a suffix such as `-beta` is ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[-+]/)[0]!.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let index = 0; index < 3; index++) {
    const diff = (pa[index] ?? 0) - (pb[index] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** `at most 10 messages and 8192 bytes`, for error messages. */
export function describeBound(bound: TopicBound): string {
  const parts = [bound.maxMessages === undefined ? undefined : `${bound.maxMessages} messages`, bound.maxBytes === undefined ? undefined : `${bound.maxBytes} bytes`];
  return `at most ${parts.filter((p) => p !== undefined).join(' and ')}`;
}
