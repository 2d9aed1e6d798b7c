import { Signal, type Delivery, type SubscribeParams } from '@omnibus/core';

type Settle = (delivery: Delivery) => void | Promise<void>;

/**
 * Raw transport subscription callbacks that record every delivery and error, and let
 * a test await them (no sleeps). `settle` decides what to do with each delivery
 * (default: ack).
 */
export class Collector {
  readonly deliveries: Delivery[] = [];
  readonly errors: Error[] = [];
  private readonly signal = new Signal();

  constructor(private readonly settle: Settle = (delivery) => delivery.ack()) {}

  params(topic: string, group: string, concurrency = 1): SubscribeParams {
    return {
      topic,
      group,
      concurrency,
      onDelivery: (delivery) => {
        this.deliveries.push(delivery);
        this.signal.notify();
        void Promise.resolve(this.settle(delivery)).finally(() => this.signal.notify());
      },
      onError: (error) => {
        this.errors.push(error);
        this.signal.notify();
      },
    };
  }

  ids(): string[] {
    return this.deliveries.map((d) => d.message.id);
  }

  async waitFor(predicate: (delivery: Delivery) => boolean, what: string, timeoutMs = 15_000): Promise<Delivery> {
    let found: Delivery | undefined;
    await this.signal.until(() => (found = this.deliveries.find(predicate)) !== undefined, timeoutMs, () => `${what} (deliveries so far: ${this.ids().join(', ')})`);
    return found as Delivery;
  }

  async waitForIds(ids: Iterable<string>, timeoutMs = 15_000): Promise<void> {
    const wanted = new Set(ids);
    await this.signal.until(
      () => {
        const seen = new Set(this.ids());
        return [...wanted].every((id) => seen.has(id));
      },
      timeoutMs,
      () => `ids ${[...wanted].filter((id) => !this.ids().includes(id)).slice(0, 20).join(', ')} to be delivered`,
    );
  }

  async waitForError(predicate: (error: Error) => boolean, what: string, timeoutMs = 15_000): Promise<Error> {
    let found: Error | undefined;
    await this.signal.until(() => (found = this.errors.find(predicate)) !== undefined, timeoutMs, () => `${what} (errors: ${this.errors.map((e) => e.message).join(' | ')})`);
    return found as Error;
  }
}
