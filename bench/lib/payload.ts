// The message both sides send: a small JSON object padded to the payload size.
// `sentAt` is a CLOCK_MONOTONIC reading in microseconds; on Linux that clock is shared by
// every process of the machine, so a consumer in a child process can subtract it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

export interface BenchBody {
  /** 0..n-1 for measured messages; -1 for warm-up messages and -2 for readiness probes, never counted. */
  readonly seq: number;
  /** Microseconds, `nowUs()` of the publisher when it handed the message to the client. */
  readonly sentAt: number;
  readonly data: string;
}

/** What an Omnibus user would declare for this topic (validated on publish and on receive). */
export const BenchBodySchema = z.object({
  seq: z.number().int().min(-2),
  sentAt: z.number(),
  data: z.string(),
});

/** Monotonic microseconds, comparable across processes of one Linux machine. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A body factory whose JSON encoding is about `bytes` long (exact for 5-digit seq numbers). */
export function bodyFactory(bytes: number): (seq: number, sentAt?: number) => BenchBody {
  const skeleton = JSON.stringify({ seq: 10_000, sentAt: nowUs(), data: '' });
  const data = 'x'.repeat(Math.max(0, bytes - skeleton.length));
  return (seq, sentAt = nowUs()) => ({ seq, sentAt, data });
}

/** What the raw side does to send the object: JSON bytes, as a plain client user would. */
export function encodeBody(body: BenchBody): Buffer {
  return Buffer.from(JSON.stringify(body));
}

/** The raw side's receive: parse the JSON (no schema check; Omnibus validates with zod). */
export function decodeBody(bytes: Buffer | string): BenchBody {
  return JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8')) as BenchBody;
}

const SOURCE = `omnibus://${hostname()}`;

/**
 * With --raw-envelope: the six CloudEvents headers Omnibus puts on every message (same names and
 * sizes as the bus writes by default), for the raw side to carry in its client's natural form, so
 * the envelope's cost in each client is measured on both sides.
 */
export function envelopeHeaders(topic: string): Record<string, string> {
  return {
    'ce-id': randomUUID(),
    'ce-source': SOURCE,
    'ce-type': topic,
    'ce-time': new Date().toISOString(),
    'ce-specversion': '1.0',
    'content-type': 'application/json',
  };
}
