// The stop switch of the read loop (src/halt.ts): a race leaves nothing behind once its command
// settled, so a loop that races every read keeps nothing of the replies it read.
import { describe, expect, it } from 'vitest';
import { Halt, HALTED } from '../src/halt.js';

describe('Halt', () => {
  it('keeps no waiter for a race whose command settled, resolved or rejected', async () => {
    const halt = new Halt();
    for (let i = 0; i < 1_000; i += 1) await expect(halt.race(Promise.resolve(i))).resolves.toBe(i);
    await expect(halt.race(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(halt.pending).toBe(0);
  });

  it('resolves the races still waiting with HALTED on trigger, and forgets them', async () => {
    const halt = new Halt();
    let answer: (value: string) => void = () => {};
    const waiting = halt.race(new Promise<string>((resolve) => (answer = resolve)));
    expect(halt.pending).toBe(1);
    halt.trigger();
    expect(halt.pending).toBe(0);
    await expect(waiting).resolves.toBe(HALTED);
    answer('late');
    await expect(waiting).resolves.toBe(HALTED);
  });

  it('answers HALTED at once after the halt, and a later rejection of the command is handled', async () => {
    const halt = new Halt();
    halt.trigger();
    halt.trigger();
    let refuse: (error: Error) => void = () => {};
    const command = new Promise<string>((_resolve, reject) => (refuse = reject));
    await expect(halt.race(command)).resolves.toBe(HALTED);
    refuse(new Error('connection closed'));
    // An unhandled rejection would fail the run (vitest reports it).
    await expect(command).rejects.toThrow('connection closed');
    expect(halt.isHalted).toBe(true);
    expect(halt.pending).toBe(0);
  });
});
