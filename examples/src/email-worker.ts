import { NonRetryableError, type Bus, type Subscription } from '@omnibus/core';
import { OrderPlaced } from './topics.js';

/** A fake mail server: it times out once for flaky addresses and always fails for malformed ones. */
export function createMailer(log: (line: string) => void) {
  const flakyOnce = new Set<string>();
  return async (to: string, subject: string): Promise<void> => {
    if (to.length === 0) throw new NonRetryableError('no recipient');
    if (!to.includes('@')) throw new Error(`mailbox "${to}" unavailable`);
    if (to.startsWith('flaky') && !flakyOnce.has(to)) {
      flakyOnce.add(to);
      throw new Error('SMTP timeout');
    }
    log(`  📧 sent "${subject}" to ${to}`);
  };
}

/** The worker: one handler, written once, that runs unchanged on every broker. */
export function startEmailWorker(bus: Bus, log: (line: string) => void, onSent: () => void = () => {}): Promise<Subscription> {
  const send = createMailer(log);
  return bus.subscribe(
    OrderPlaced,
    async (msg) => {
      log(`  worker: ${msg.body.orderId} attempt ${msg.attempt}`);
      try {
        await send(msg.body.email, `Thanks for order ${msg.body.orderId} (${msg.body.total} €)`);
        onSent();
      } catch (error) {
        log(`  worker: ${msg.body.orderId} failed: ${(error as Error).message}`);
        throw error;
      }
    },
    {
      group: 'emails',
      concurrency: 8,
      retry: { maxAttempts: 3, backoff: { type: 'exponential', initialDelayMs: 200, maxDelayMs: 2_000, jitter: true } },
    },
  );
}
