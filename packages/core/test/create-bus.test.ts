import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, createBus, defineTopic, handlerSpy, isOmnibusError, loadTransportModule } from '../src/index.js';

describe('createBus', () => {
  it('picks the memory transport from memory:// and by name', async () => {
    await using byUrl = await createBus('memory://');
    await using byName = await createBus({ transport: 'memory' });
    expect(byUrl.transport.name).toBe('memory');
    expect(byName.transport.name).toBe('memory');
  });

  it('rejects an unknown scheme, naming the field and hiding the password', async () => {
    const error = await createBus('mqtt://alice:s3cret-pw@broker:1883').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('config.url');
    expect(String((error as Error).message)).toContain('amqp://');
    expect(String((error as Error).message)).not.toContain('s3cret-pw');
    expect(String((error as Error).message)).toContain('mqtt://alice:***@broker');
  });

  it('names the invalid field of a config object', async () => {
    await expect(createBus({ url: 'memory://', drainTimeoutMs: -1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'config.drainTimeoutMs' });
    await expect(createBus({ url: 'memory://', bogus: true } as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('names the package to install when a transport package is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package '@omnibus/kafka' imported from x"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadTransportModule('kafka', () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'TRANSPORT_NOT_INSTALLED')).toBe(true);
    expect((error as Error).message).toContain('npm install @omnibus/kafka');
  });

  it('passes other import failures through unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    await expect(loadTransportModule('redis', () => Promise.reject(broken))).rejects.toBe(broken);
  });

  it('validates subscribe options, naming the field', async () => {
    await using bus = await createBus('memory://');
    const topic = defineTopic('orders.placed', z.object({ id: z.string() }));
    await expect(bus.subscribe(topic, () => {}, { group: 'g', concurrency: 0 })).rejects.toMatchObject({ field: 'subscribe options.concurrency' });
    await expect(bus.subscribe(topic, () => {}, { group: 'has.dot' })).rejects.toMatchObject({ field: 'group' });
    expect(() => defineTopic('bad topic!', z.string())).toThrow(ConfigError);
  });

  it('rejects reserved header names before sending', async () => {
    await using bus = await createBus('memory://');
    const topic = defineTopic('orders.placed', z.object({ id: z.string() }));
    await expect(bus.publish(topic, { id: '1' }, { headers: { 'ce-id': 'x' } })).rejects.toMatchObject({ field: 'headers.ce-id' });
  });

  it('drains on close and implements Symbol.asyncDispose', async () => {
    const topic = defineTopic('orders.placed', z.object({ id: z.string() }));
    const spy = handlerSpy<{ id: string }>();
    {
      await using bus = await createBus('memory://');
      await bus.subscribe(topic, spy.handler, { group: 'g' });
      await bus.publish(topic, { id: '1' });
      await spy.waitForCount(1);
    }
    expect(spy.bodies).toEqual([{ id: '1' }]);
  });
});
