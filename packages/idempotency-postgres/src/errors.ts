import { ErrorCodes, OmnibusError } from '@omnibus/core';

/**
 * `commitIn` found the key already done (another delivery's transaction committed the same
 * effect first): the caller's transaction must roll back, or the effect happens twice. Thrown
 * rather than returned so that a transaction helper rolls back without the caller checking.
 */
export class DuplicateEffectError extends OmnibusError {
  readonly key: string;
  constructor(key: string) {
    super(ErrorCodes.idempotencyKeyDone, `idempotency key "${key}" is already done: another transaction committed this effect; roll this one back`);
    this.key = key;
  }
}
