import type { OutgoingMessage } from './transport.js';

/**
 * One publish call's messages on their way through the publish middleware. Each message's
 * middleware chain either reaches its innermost step (`arrive`, with the encoded message) or
 * ends without it (`skip`: a middleware that did not call next(), or threw). Once every chain
 * did one or the other, the arrived messages go to the transport in one call, and every
 * `arrive` resolves (or rejects) with that call.
 */
export class BatchAssembly {
  private readonly messages: OutgoingMessage[] = [];
  private outstanding: number;
  private readonly sent: Promise<void>;
  private resolveSent!: () => void;
  private rejectSent!: (error: unknown) => void;

  constructor(
    size: number,
    private readonly send: (messages: OutgoingMessage[]) => Promise<void>,
  ) {
    this.outstanding = size;
    this.sent = new Promise<void>((resolve, reject) => {
      this.resolveSent = resolve;
      this.rejectSent = reject;
    });
    this.sent.catch(() => {}); // a chain that skipped has nobody awaiting the send
  }

  /** A chain reached its innermost step: its message joins the call, which it then awaits. */
  arrive(message: OutgoingMessage): Promise<void> {
    this.messages.push(message);
    this.settleOne();
    return this.sent;
  }

  /** A chain ended without reaching its innermost step. */
  skip(): void {
    this.settleOne();
  }

  private settleOne(): void {
    this.outstanding -= 1;
    if (this.outstanding > 0) return;
    if (this.messages.length === 0) this.resolveSent();
    else this.send(this.messages).then(this.resolveSent, this.rejectSent);
  }
}
