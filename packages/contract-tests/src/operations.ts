/**
 * Contract cases for what an operator (or `omnibus tail`) does with a transport besides
 * publishing and consuming: deleting a group it no longer needs, and asking for health. Each is
 * gated on the optional Transport method it proves.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { ConfigError, defineTopic, handlerSpy } from '@omnibus/core';
import { range, uniqueName, type ContractCase } from './fixtures.js';

const Job = z.object({ n: z.number() });

export const operationCases: readonly ContractCase[] = [
  {
    name: 'deleteGroup removes what was kept for the group and nothing of another group',
    promise: 'bus.deleteGroup leaves nothing of the group behind and never touches the topic or another group',
    features: ['deleteGroup'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('delete-group'), Job);
      await bus.ensureGroup(topic, 'gone');
      await bus.ensureGroup(topic, 'kept');
      await bus.publishBatch(topic, range(5).map((n) => ({ body: { n } })));
      await bus.deleteGroup(topic, 'gone');
      await bus.deleteGroup(topic, 'gone'); // idempotent
      await bus.deleteGroup(topic, 'never-existed');

      const kept = handlerSpy<{ n: number }>();
      await bus.subscribe(topic, kept.handler, { group: 'kept' });
      await kept.waitForCount(5, { timeoutMs });

      // A group of the same name made afresh starts empty: the five kept for the deleted one are gone.
      const reborn = handlerSpy<{ n: number }>();
      await bus.subscribe(topic, reborn.handler, { group: 'gone' });
      const fresh = await bus.publish(topic, { n: 99 });
      await reborn.waitForMessageWithId(fresh, { timeoutMs });
      await kept.waitForMessageWithId(fresh, { timeoutMs });
      expect(reborn.calls.map((call) => call.message.body.n)).toEqual([99]);
    },
  },
  {
    name: 'deleteGroup is refused while a subscription reads the group',
    promise: 'bus.deleteGroup never pulls a group from under its own consumer',
    features: ['deleteGroup'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('delete-busy'), Job);
      const spy = handlerSpy<{ n: number }>();
      const subscription = await bus.subscribe(topic, spy.handler, { group: 'busy' });
      const refused = await bus.deleteGroup(topic, 'busy').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ConfigError);
      // The subscription still works after the refusal.
      const id = await bus.publish(topic, { n: 1 });
      await spy.waitForMessageWithId(id, { timeoutMs });
      await subscription.close();
      await bus.deleteGroup(topic, 'busy');
    },
  },
  {
    name: 'health says connected once connected and closed once closed',
    promise: 'bus.health reports the connection from the transport itself',
    features: ['health'],
    async run({ pool }) {
      const bus = await pool.open();
      const health = bus.health();
      expect(health.transport.state).toBe('connected');
      expect(health.ready).toBe(true);
      expect(health.status).toBe('healthy');
      const transportHealth = bus.transport.health?.();
      expect(transportHealth?.since).toBeInstanceOf(Date);
      await bus.close();
      expect(bus.health()).toMatchObject({ status: 'unhealthy', live: false, ready: false });
      expect(bus.transport.health?.().state).toBe('closed');
    },
  },
  {
    name: 'brokerInfo names the broker and its version as the broker reports them',
    promise: 'omnibus doctor prints the broker and its version',
    features: ['brokerInfo'],
    async run({ pool }) {
      const bus = await pool.open();
      const info = await bus.transport.brokerInfo?.();
      expect(info?.product).toMatch(/\S/);
      if (info?.version !== undefined) expect(info.version).toMatch(/^\d+(\.\d+)*/);
      for (const value of Object.values(info?.details ?? {})) expect(typeof value).toBe('string');
    },
  },
];
