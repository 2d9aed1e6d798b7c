import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The store's Lua scripts. Each operation that reads a key and then changes it runs as one
 * script, so two consumers can never both see a key free and both claim it (Redis runs a
 * script atomically). A key's value is `claimed:<owner>` or `done`; its expiry is the lease or
 * the done TTL, so Redis itself forgets what ran out (nothing to sweep).
 */

/**
 * Claim. KEYS: key. ARGV: owner, lease ms. SET NX PX takes a free (absent or expired) key;
 * otherwise the value says done or busy, busy with PTTL (how long until the lease ends).
 * Returns {'claimed'}, {'done'} or {'busy', ms}.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], 'claimed:' .. ARGV[1], 'NX', 'PX', ARGV[2]) then return {'claimed'} end
if redis.call('GET', KEYS[1]) == 'done' then return {'done'} end
return {'busy', math.max(0, redis.call('PTTL', KEYS[1]))}
`;

/** Extend. KEYS: key. ARGV: owner, lease ms. Returns 1 when the claim was the owner's and is extended, else 0. */
const EXTEND = `
if redis.call('GET', KEYS[1]) ~= 'claimed:' .. ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Release. KEYS: key. ARGV: owner. Deletes the key only while it is the owner's claim. Returns 1 when deleted. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= 'claimed:' .. ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/**
 * A script run with EVALSHA, loaded with EVAL when Redis does not know it yet (NOSCRIPT: first
 * use, a restart, SCRIPT FLUSH). Not ioredis `defineCommand`: that would add methods to a client
 * the application passed in and may share.
 */
export class Script {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, key: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.lua, 1, key, ...args);
    }
  }
}

export const scripts = { claim: new Script(CLAIM), extend: new Script(EXTEND), release: new Script(RELEASE) } as const;
