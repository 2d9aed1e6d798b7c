import { describe, expect, it } from 'vitest';
import type { ConsumeMessage } from 'amqplib';
import { AckBatcher } from '../src/acks.js';
import type { ChannelHandle } from '../src/channels.js';

// Unit test (no broker): coalesced acks must never ack an unsettled delivery nor ack a tag twice.
function setup() {
  const sent: { tag: number; multiple: boolean }[] = [];
  const channel = { ack: (raw: ConsumeMessage, multiple = false) => sent.push({ tag: raw.fields.deliveryTag, multiple }) };
  const handle = { channel, open: true } as unknown as ChannelHandle;
  const acks = new AckBatcher(handle);
  const raws = new Map<number, ConsumeMessage>();
  const deliver = (...tags: number[]) => {
    for (const tag of tags) {
      const raw = { fields: { deliveryTag: tag } } as ConsumeMessage;
      raws.set(tag, raw);
      acks.received(raw);
    }
  };
  const raw = (tag: number) => raws.get(tag) as ConsumeMessage;
  return { sent, handle, acks, deliver, raw };
}

describe('AckBatcher', () => {
  it('acks an in-order run with one multiple ack, at the next tick', async () => {
    const { sent, acks, deliver, raw } = setup();
    deliver(1, 2, 3, 4);
    for (const tag of [2, 1, 3]) acks.ack(raw(tag));
    expect(sent).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sent).toEqual([{ tag: 3, multiple: true }]);
  });

  it('acks past an unsettled delivery one by one, never covering it', () => {
    const { sent, acks, deliver, raw } = setup();
    deliver(1, 2, 3, 4, 5);
    acks.ack(raw(1));
    acks.ack(raw(3));
    acks.ack(raw(5));
    acks.flush();
    expect(sent).toEqual([
      { tag: 3, multiple: false },
      { tag: 5, multiple: false },
      { tag: 1, multiple: true },
    ]);
    sent.length = 0;
    acks.settledOtherwise(raw(2)); // requeued with basic.nack
    acks.ack(raw(4));
    acks.flush();
    expect(sent).toEqual([{ tag: 4, multiple: false }]);
  });

  it('drops pending acks when the channel is closed (the broker redelivers)', () => {
    const { sent, handle, acks, deliver, raw } = setup();
    deliver(1, 2);
    acks.ack(raw(1));
    acks.ack(raw(2));
    handle.open = false;
    acks.flush();
    expect(sent).toEqual([]);
  });
});
