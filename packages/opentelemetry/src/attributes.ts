import type { Attributes } from '@opentelemetry/api';
import { describeThrown, type DeliveryMetadata } from '@omnibus/core';
import {
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
  ERROR_TYPE_VALUE_OTHER,
  MESSAGING_SYSTEM_VALUE_KAFKA,
  MESSAGING_SYSTEM_VALUE_RABBITMQ,
} from './semconv.js';
import { ATTR_OMNIBUS_DELIVERY_TAG, ATTR_OMNIBUS_MESSAGE_KEY, ATTR_OMNIBUS_MESSAGE_OFFSET, ATTR_OMNIBUS_METADATA_PREFIX } from './omnibus-names.js';

/**
 * `messaging.system` for a transport name. The transport names Omnibus ships are chosen to be
 * the conventions' well-known values where one exists (`kafka`, `rabbitmq`); `redis`, `nats`
 * and `memory` have none in v1.27.0 and are emitted as they are, as is a third party's name.
 */
export function messagingSystem(transport: string): string {
  return transport;
}

/** Key, partition, offset and delivery tag, under the convention's name for this broker where it has one. */
export function deliveryAttributes(attributes: Attributes, system: string, key: string | undefined, metadata: DeliveryMetadata | undefined): void {
  if (key !== undefined) attributes[system === MESSAGING_SYSTEM_VALUE_KAFKA ? ATTR_MESSAGING_KAFKA_MESSAGE_KEY : ATTR_OMNIBUS_MESSAGE_KEY] = key;
  if (!metadata) return;
  for (const name of Object.keys(metadata)) {
    const value = metadata[name];
    if (value === undefined) continue;
    switch (name) {
      case 'partition':
        attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(value);
        break;
      case 'offset':
        if (system === MESSAGING_SYSTEM_VALUE_KAFKA && isInteger(value)) attributes[ATTR_MESSAGING_KAFKA_OFFSET] = Number(value);
        else attributes[ATTR_OMNIBUS_MESSAGE_OFFSET] = String(value);
        break;
      case 'deliveryTag':
        if (system === MESSAGING_SYSTEM_VALUE_RABBITMQ && isInteger(value)) attributes[ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG] = Number(value);
        else attributes[ATTR_OMNIBUS_DELIVERY_TAG] = String(value);
        break;
      default:
        attributes[`${ATTR_OMNIBUS_METADATA_PREFIX}${name}`] = value;
    }
  }
}

/** A decimal integer that a JavaScript number holds exactly (Kafka offsets are int64 strings). */
function isInteger(value: string | number): boolean {
  const number = Number(value);
  return Number.isSafeInteger(number) && String(number) === String(value);
}

/**
 * `messaging.message.body.size` where it is known before encoding: raw (bytes) topics. The
 * codec runs after publish middleware and before consume middleware, so for other bodies
 * the encoded size is not visible to middleware and the attribute is left out.
 */
export function bodySize(attributes: Attributes, body: unknown): void {
  if (body instanceof Uint8Array) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = body.byteLength;
}

/** A bounded, never-throwing description of any thrown value (an `error.type` and an exception). */
export interface ErrorFacts {
  /** `error.type`: the error's class name, or `_OTHER` for a thrown non-Error. */
  readonly type: string;
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}

export function errorFacts(error: unknown): ErrorFacts {
  const description = describeThrown(error);
  const type = description.name === 'NonError' ? ERROR_TYPE_VALUE_OTHER : description.name;
  return { type, name: description.name, message: description.message, stack: description.stack };
}
