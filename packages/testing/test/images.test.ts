// The container images startBroker runs are the repository's docker-compose.yml images: one table
// in step with the other (and the host ports there are the defaults the 'running' source looks at).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROKER_DEFAULTS, BROKER_IMAGES, BROKER_KINDS, type BrokerKind } from '@omnibus/testing';

const compose = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docker-compose.yml'), 'utf8');

/** service name -> { image, ports } from the compose file's `services:` block (two-space service keys). */
function composeServices(text: string): Map<string, { image: string; ports: string[] }> {
  const services = new Map<string, { image: string; ports: string[] }>();
  let current: { image: string; ports: string[] } | undefined;
  let inServices = false;
  for (const line of text.split('\n')) {
    if (/^services:\s*$/.test(line)) {
      inServices = true;
      continue;
    }
    if (!inServices || /^\s*#/.test(line)) continue;
    if (/^\S/.test(line)) break;
    const service = /^ {2}([\w-]+):\s*$/.exec(line);
    if (service) {
      current = { image: '', ports: [] };
      services.set(service[1] as string, current);
      continue;
    }
    const image = /^ {4}image:\s*(\S+)\s*$/.exec(line);
    if (image && current) current.image = (image[1] as string).replace(/^["']|["']$/g, '');
    const port = /^ {6}- "?([\d.:]+)"?\s*$/.exec(line);
    if (port && current) current.ports.push(port[1] as string);
  }
  return services;
}

const SERVICE: Record<BrokerKind, string> = { rabbitmq: 'rabbitmq', kafka: 'kafka', redis: 'redis', nats: 'nats', postgres: 'postgres', amqp10: 'artemis', sqs: 'elasticmq' };

describe('BROKER_IMAGES and docker-compose.yml', () => {
  const services = composeServices(compose);

  it('has one compose service per broker kind, and no other', () => {
    expect([...services.keys()].sort()).toEqual(BROKER_KINDS.map((kind) => SERVICE[kind]).sort());
  });

  it.each(BROKER_KINDS)('%s: the same image, and compose publishes the container port on the default port', (kind) => {
    const service = services.get(SERVICE[kind]);
    expect(service?.image).toBe(BROKER_IMAGES[kind].image);
    expect(service?.ports).toContain(`127.0.0.1:${BROKER_DEFAULTS[kind].port}:${BROKER_IMAGES[kind].port}`);
  });
});
