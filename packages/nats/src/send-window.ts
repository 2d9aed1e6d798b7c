/**
 * A bound on the messages one transport has sent and not yet seen a PubAck for, across
 * every publish() call (and the delay mover's moves). Callers wait here in call order.
 *
 * Without it, 200,000 unawaited publish() calls of one message each were all in flight at
 * once: nats.js buffered every one of them (≈ 3 GiB), PubAcks could not come back in
 * time, the retries added more, and the connection went down under the load: every
 * publish failed after about a minute.
 */
export class SendWindow {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Run `send` once a place in the window is free; the place is given back when it settles. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await send();
    } finally {
      // Handed straight to the next in line (the count stays taken), else freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}
