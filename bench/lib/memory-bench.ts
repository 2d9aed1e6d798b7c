// The in-memory transport: what the policy layer itself costs per message, with no broker.
//   transport only: createMemoryTransport(), JSON bytes in, onDelivery → JSON.parse → ack
//   bus:            createBus('memory://') + a zod topic: validate + envelope on publish,
//                   decode + validate + handler + ack on receive
// Both run end to end (subscribe, then publish N in batches) until the N-th message was handled.
import { randomUUID } from 'node:crypto';
import { createBus, createMemoryTransport, defineTopic, type OutgoingMessage } from '@omnibus/core';
import type { BenchConfig } from './config.js';
import { BenchBodySchema, bodyFactory, decodeBody, encodeBody, nowUs, type BenchBody } from './payload.js';
import { median } from './stats.js';

export interface MemoryRound {
  readonly round: number;
  readonly transportMsgsPerSec: number;
  readonly busMsgsPerSec: number;
}

export interface MemoryResult {
  readonly messages: number;
  readonly rounds: MemoryRound[];
  readonly transportMsgsPerSec: number | undefined;
  readonly busMsgsPerSec: number | undefined;
  /** Median bus time per message minus transport-only time per message, in microseconds. */
  readonly policyCostUs: number | undefined;
  error?: string;
}

/** Resolves once `count` distinct seq numbers were seen; returns the `onBody` to feed it. */
export function counter(count: number): { onBody: (body: BenchBody) => void; done: Promise<void> } {
  const seen = new Uint8Array(count);
  let received = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    done,
    onBody: (body) => {
      if (body.seq < 0 || body.seq >= count || seen[body.seq]) return;
      seen[body.seq] = 1;
      if (++received === count) resolve();
    },
  };
}

/** Publish `count` bodies in `batch`-sized calls, `inflight` calls at a time. */
async function publishInBatches(count: number, config: BenchConfig, send: (bodies: BenchBody[]) => Promise<unknown>): Promise<void> {
  const makeBody = bodyFactory(config.payloadBytes);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const start = next;
      const end = Math.min(count, start + config.batch);
      next = end;
      const bodies: BenchBody[] = [];
      for (let i = start; i < end; i++) bodies.push(makeBody(i));
      await send(bodies);
    }
  };
  await Promise.all(Array.from({ length: config.inflight }, lane));
}

async function transportOnly(count: number, config: BenchConfig): Promise<number> {
  const transport = createMemoryTransport();
  await transport.connect();
  const topic = 'bench-memory';
  const { onBody, done } = counter(count);
  await transport.ensureGroup(topic, 'g');
  const subscription = await transport.subscribe({
    topic,
    group: 'g',
    concurrency: config.concurrency,
    onDelivery: (delivery) => {
      onBody(decodeBody(Buffer.from(delivery.message.body)));
      void delivery.ack();
    },
    onError: () => {},
  });
  const t0 = nowUs();
  await publishInBatches(count, config, (bodies) =>
    transport.publish(bodies.map((body): OutgoingMessage => ({ id: randomUUID(), topic, key: undefined, headers: {}, body: encodeBody(body) }))),
  );
  await done;
  const seconds = (nowUs() - t0) / 1e6;
  await subscription.close();
  await transport.close();
  return count / seconds;
}

async function viaBus(count: number, config: BenchConfig): Promise<number> {
  const bus = await createBus('memory://');
  const topic = defineTopic('bench-memory', BenchBodySchema);
  const { onBody, done } = counter(count);
  await bus.subscribe(topic, (message) => onBody(message.body), { group: 'g', concurrency: config.concurrency });
  const t0 = nowUs();
  await publishInBatches(count, config, (bodies) => bus.publishBatch(topic, bodies.map((body) => ({ body }))));
  await done;
  const seconds = (nowUs() - t0) / 1e6;
  await bus.close();
  return count / seconds;
}

export async function benchMemory(config: BenchConfig, log: (line: string) => void): Promise<MemoryResult> {
  const count = config.memoryMessages;
  const rounds: MemoryRound[] = [];
  try {
    // Warm-up (not recorded): both paths once, small.
    await transportOnly(Math.min(count, 10_000), config);
    await viaBus(Math.min(count, 10_000), config);
    for (let round = 1; round <= config.rounds; round++) {
      let transportRate: number;
      let busRate: number;
      if (round % 2 === 1) {
        transportRate = await transportOnly(count, config);
        busRate = await viaBus(count, config);
      } else {
        busRate = await viaBus(count, config);
        transportRate = await transportOnly(count, config);
      }
      rounds.push({ round, transportMsgsPerSec: transportRate, busMsgsPerSec: busRate });
      log(`  memory  r${round} transport ${Math.round(transportRate)} msg/s, bus ${Math.round(busRate)} msg/s`);
    }
  } catch (error) {
    return { messages: count, rounds, transportMsgsPerSec: undefined, busMsgsPerSec: undefined, policyCostUs: undefined, error: error instanceof Error ? error.message : String(error) };
  }
  const transportMsgsPerSec = median(rounds.map((r) => r.transportMsgsPerSec));
  const busMsgsPerSec = median(rounds.map((r) => r.busMsgsPerSec));
  const policyCostUs = transportMsgsPerSec && busMsgsPerSec ? 1e6 / busMsgsPerSec - 1e6 / transportMsgsPerSec : undefined;
  return { messages: count, rounds, transportMsgsPerSec, busMsgsPerSec, policyCostUs };
}
