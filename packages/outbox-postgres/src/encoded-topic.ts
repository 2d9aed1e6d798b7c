import type { Codec, Topic } from '@omnibus/core';

/**
 * The relay publishes a row's stored bytes as they are: a topic without a schema (the body was
 * validated when it was written) whose codec passes the bytes through and names the content type
 * the row was encoded with. So the message on the wire, content-type header included, is what
 * `bus.publish` of the typed topic would have sent, and consumers on the typed topic decode it
 * as usual. (core's rawTopic would label it application/octet-stream.)
 */
export class EncodedTopics {
  private readonly topics = new Map<string, Topic<Uint8Array>>();

  get(name: string, contentType: string): Topic<Uint8Array> {
    const cacheKey = `${contentType}\u0000${name}`;
    let topic = this.topics.get(cacheKey);
    if (!topic) {
      topic = Object.freeze({ name, schema: undefined, codec: passThrough(contentType), bound: undefined });
      this.topics.set(cacheKey, topic);
    }
    return topic;
  }
}

function passThrough(contentType: string): Codec {
  return {
    contentType,
    encode: (value) => {
      if (value instanceof Uint8Array) return value;
      throw new TypeError('the outbox relay publishes stored bytes only');
    },
    decode: (bytes) => bytes,
  };
}
