/**
 * (a) Registration with an asynchronous email and SMS. The sign-up request writes the user and
 * publishes `users.registered`; a welcome email and an SMS are sent by two groups of workers
 * afterwards. The user waits for the write and the publish, never for the email or the SMS.
 *
 * The user store is a Map behind a simulated 5 ms database write (no PostgreSQL needed); the email
 * takes 60 ms and the SMS 90 ms, also simulated. The figures printed are measured.
 */
import { z } from 'zod';
import { Signal, defineTopic } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, percentile, runAsScript, runSuffix, since, work, type Print } from './shared.js';

const DB_WRITE_MS = 5;
const EMAIL_MS = 60;
const SMS_MS = 90;
const USERS = 8;

export interface RegistrationResult {
  readonly users: number;
  readonly emailsSent: number;
  readonly smsSent: number;
  /** Sign-up request to response: the database write plus the publish. */
  readonly userLatencyP50Ms: number;
  readonly userLatencyMaxMs: number;
  /** Of which the simulated database write. */
  readonly dbWriteP50Ms: number;
  /** Of which the publish (broker accepted durably). */
  readonly publishP50Ms: number;
  /** Sign-up request to welcome email sent / SMS sent. */
  readonly emailDoneP50Ms: number;
  readonly smsDoneP50Ms: number;
  /** What a sign-up doing everything in the request would take at least: write + email + SMS. */
  readonly synchronousMs: number;
}

/** A user table in memory with the latency of a database write (honestly simulated). */
class UserStore {
  private readonly users = new Map<string, { email: string; phone: string }>();
  async insert(userId: string, user: { email: string; phone: string }): Promise<void> {
    await work(DB_WRITE_MS);
    this.users.set(userId, user);
  }
}

export async function runRegistration(url: string, print: Print): Promise<RegistrationResult> {
  banner(print, 'registration: the user waits for the database write, not for the email and SMS', url);
  const UserRegistered = defineTopic(`users.registered.${runSuffix()}`, z.object({ userId: z.string(), email: z.string(), phone: z.string() }));
  await using bus = await openBus(url, 'omnibus-example-registration');
  const store = new UserStore();

  const requestedAt = new Map<string, number>();
  const emailDone: number[] = [];
  const smsDone: number[] = [];
  const progress = new Signal();
  const email = await bus.subscribe(
    UserRegistered,
    async (msg) => {
      await work(EMAIL_MS); // the mail provider's API call
      emailDone.push(since(requestedAt.get(msg.body.userId) as number));
      progress.notify();
    },
    { group: 'welcome-email', concurrency: USERS },
  );
  const sms = await bus.subscribe(
    UserRegistered,
    async (msg) => {
      await work(SMS_MS); // the SMS gateway's API call
      smsDone.push(since(requestedAt.get(msg.body.userId) as number));
      progress.notify();
    },
    { group: 'welcome-sms', concurrency: USERS },
  );

  print(`  ${USERS} sign-ups (user store simulated in memory: a ${DB_WRITE_MS} ms write; email ${EMAIL_MS} ms, SMS ${SMS_MS} ms, simulated)`);
  const latency: number[] = [];
  const dbWrite: number[] = [];
  const publish: number[] = [];
  for (let n = 1; n <= USERS; n++) {
    const user = { userId: `u-${n}`, email: `user${n}@example.com`, phone: `+1555000${n}` };
    // The sign-up request handler: write, publish, answer.
    const start = performance.now();
    requestedAt.set(user.userId, start);
    await store.insert(user.userId, user);
    const written = performance.now();
    await bus.publish(UserRegistered, user, { key: user.userId });
    latency.push(since(start));
    dbWrite.push(Math.round((written - start) * 10) / 10);
    publish.push(since(written));
  }
  const answered = percentile(latency, 50);
  print(`  sign-up answered: p50 ${ms(answered)} (database write p50 ${ms(percentile(dbWrite, 50))} + publish p50 ${ms(percentile(publish, 50))}), max ${ms(Math.max(...latency))}`);

  await progress.until(() => emailDone.length >= USERS && smsDone.length >= USERS, 30_000, () => `${USERS} emails and SMS (${emailDone.length} and ${smsDone.length} so far)`);
  const result: RegistrationResult = {
    users: USERS,
    emailsSent: emailDone.length,
    smsSent: smsDone.length,
    userLatencyP50Ms: answered,
    userLatencyMaxMs: Math.max(...latency),
    dbWriteP50Ms: percentile(dbWrite, 50),
    publishP50Ms: percentile(publish, 50),
    emailDoneP50Ms: percentile(emailDone, 50),
    smsDoneP50Ms: percentile(smsDone, 50),
    synchronousMs: DB_WRITE_MS + EMAIL_MS + SMS_MS,
  };
  print(`  welcome email sent ${ms(result.emailDoneP50Ms)} after sign-up (p50), SMS ${ms(result.smsDoneP50Ms)}: the user did not wait for either`);
  print(`  doing both in the request would answer in ${result.synchronousMs} ms or more; ${result.emailsSent} emails and ${result.smsSent} SMS sent`);

  await email.close();
  await sms.close();
  await deleteGroups(bus, [
    [UserRegistered.name, 'welcome-email'],
    [UserRegistered.name, 'welcome-sms'],
  ]);
  return result;
}

runAsScript(import.meta.url, runRegistration);
