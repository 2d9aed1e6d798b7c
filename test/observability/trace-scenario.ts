// What the traced child processes (trace-child.ts) are configured with and report, and the
// message topic they share: imported by both sides (the child script runs on import, this does not).
import { z } from 'zod';
import type { loadTransportModule } from '@omnibus/core';
import type { PointRecord, SpanRecord } from '../../packages/opentelemetry/test/telemetry-fixture.js';

export interface ChildConfig {
  readonly role: 'publisher' | 'consumer';
  readonly transport: Parameters<typeof loadTransportModule>[0];
  readonly url: string;
  readonly options: Record<string, unknown>;
  readonly topic: string;
  readonly group: string;
}

export type ChildReport =
  | { readonly type: 'span'; readonly span: SpanRecord }
  | { readonly type: 'ready' }
  | { readonly type: 'published'; readonly ok: string; readonly fail: string }
  | { readonly type: 'metrics'; readonly metrics: Record<string, PointRecord[]> }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly error: string };

export const Job = z.object({ kind: z.enum(['ok', 'fail']) });
/** The key of the 'ok' message (Kafka reports it as messaging.kafka.message.key). */
export const OK_KEY = 'order-7';
