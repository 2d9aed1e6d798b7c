import type { Redactor } from './redact.js';
import type { OutgoingMessage, SubscribeParams, Transport, TransportSubscription } from './transport.js';

/**
 * The transport as createBus hands it to the bus: every error it throws, rejects with or reports
 * (`onError`) is scrubbed of the configuration's secrets first, whatever the transport itself
 * did. Only errors are touched: messages, deliveries and results pass through unchanged (the
 * health report's texts are scrubbed too). A Proxy, so a transport's own members (and methods
 * the interface adds later) stay reachable through `bus.transport`; every function is called
 * on the transport itself.
 *
 * Cost on the publish path: one rejection handler per call, nothing per message.
 * Deliveries are not wrapped (that would cost an object per message): a failed ack or nack is
 * only logged by the consumer, through the bus's redacting logger.
 */
export function redactingTransport(transport: Transport, redactor: Redactor): Transport {
  const rethrow = (error: unknown): never => {
    throw redactor.error(error);
  };
  const methods = new Map<PropertyKey, unknown>();
  const special: Partial<Record<PropertyKey, unknown>> = {
    publish(messages: readonly OutgoingMessage[]): Promise<void> {
      let sent: Promise<void>;
      try {
        sent = transport.publish(messages);
      } catch (error) {
        return Promise.reject(redactor.error(error));
      }
      return sent.then(undefined, rethrow);
    },
    subscribe(params: SubscribeParams): Promise<TransportSubscription> {
      const onError = params.onError;
      const guarded: SubscribeParams = { ...params, onError: (error: Error) => onError(redactor.error(error) as Error) };
      return guard(redactor, () => transport.subscribe(guarded)).then((subscription) => redactingMethods(subscription, redactor));
    },
  };
  if (typeof transport.health === 'function') {
    special.health = () => redactor.value(transport.health?.());
  }
  return new Proxy(transport, {
    get(target, property) {
      if (Object.prototype.hasOwnProperty.call(special, property)) return special[property];
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      let wrapped = methods.get(property);
      if (wrapped === undefined) {
        wrapped = (...args: unknown[]) => guard(redactor, () => (value as (...a: unknown[]) => unknown).apply(target, args));
        methods.set(property, wrapped);
      }
      return wrapped;
    },
  });
}

/** `object` with every method's throw or rejection scrubbed (a subscription's stop and close). */
function redactingMethods<T extends object>(object: T, redactor: Redactor): T {
  return new Proxy(object, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => guard(redactor, () => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

/** Call `run`; a synchronous throw or a rejection comes out scrubbed. Non-promise results pass through. */
function guard<T>(redactor: Redactor, run: () => T): T {
  let result: T;
  try {
    result = run();
  } catch (error) {
    throw redactor.error(error);
  }
  if (result instanceof Promise) {
    return result.then(undefined, (error: unknown) => {
      throw redactor.error(error);
    }) as T;
  }
  return result;
}
