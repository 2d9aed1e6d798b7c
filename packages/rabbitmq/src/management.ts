import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@omnibus/core';
import type { Scrubber } from './errors.js';
import type { ManagementEndpoint } from './options.js';

/** What the management API says of one queue. A figure it has not sampled yet is undefined. */
export interface ManagedQueue {
  /** messages_unacknowledged: delivered to a consumer, not settled yet. */
  readonly unacknowledged: number | undefined;
}

/** After a failed request, inspect() stops asking for this long (a filtered port would cost the timeout every call). */
export const MANAGEMENT_RETRY_AFTER_MS = 30_000;

/** Largest response body read (a topic with very many groups lists all their bindings). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * A read-only client of the RabbitMQ management HTTP API (GET only: it never creates or
 * changes anything). Its figures are the broker's own counters, but sampled: the management
 * plugin refreshes them every `collect_statistics_interval` (5 s by default), so a figure may be
 * that old. Credentials go in an Authorization header and never appear in errors or logs.
 *
 * When the API cannot be used (plugin not enabled, refused credentials, timeout), the methods
 * return undefined, the reason is logged once (again only after a success), and the API is not
 * asked again for MANAGEMENT_RETRY_AFTER_MS.
 */
export class ManagementApi {
  private readonly authorization: string;
  private unusableUntil = 0;
  private failing = false;

  constructor(
    private readonly endpoint: ManagementEndpoint,
    private readonly tls: ConnectionOptions,
    private readonly timeoutMs: number,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {
    this.authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`;
  }

  /** The queue's counters; `missing` when the broker has no such queue; undefined when the API is not usable. */
  async queue(name: string): Promise<ManagedQueue | 'missing' | undefined> {
    const body = await this.get(`/api/queues/${this.vhostPath()}/${encodeURIComponent(name)}?columns=messages_unacknowledged`);
    if (body === undefined || body === 'missing') return body;
    const value = (body as { messages_unacknowledged?: unknown }).messages_unacknowledged;
    return { unacknowledged: typeof value === 'number' ? value : undefined };
  }

  /** Queues bound to an exchange with `routingKey`; `missing` when the exchange does not exist. */
  async queuesBoundTo(exchange: string, routingKey: string): Promise<string[] | 'missing' | undefined> {
    const body = await this.get(`/api/exchanges/${this.vhostPath()}/${encodeURIComponent(exchange)}/bindings/source`);
    if (body === undefined || body === 'missing') return body;
    if (!Array.isArray(body)) return this.unusable(new Error('the bindings list is not an array'));
    return body
      .filter((binding: { destination_type?: unknown; routing_key?: unknown }) => binding.destination_type === 'queue' && binding.routing_key === routingKey)
      .map((binding: { destination?: unknown }) => String(binding.destination));
  }

  private vhostPath(): string {
    return encodeURIComponent(this.endpoint.vhost);
  }

  private async get(path: string): Promise<unknown> {
    if (Date.now() < this.unusableUntil) return undefined;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.fetch(path));
    } catch (error) {
      return this.unusable(error);
    }
    if (status === 404) return this.usable('missing');
    if (status !== 200) {
      const why = status === 401 ? 'the credentials were refused (401)' : status === 403 ? 'the user may not read this (403; it needs the monitoring tag)' : `HTTP ${status}`;
      return this.unusable(new Error(why));
    }
    try {
      return this.usable(JSON.parse(text) as unknown);
    } catch (error) {
      return this.unusable(error);
    }
  }

  private fetch(path: string): Promise<{ status: number; text: string }> {
    const url = new URL(this.endpoint.base + path);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'GET', headers: { authorization: this.authorization, accept: 'application/json' }, timeout: this.timeoutMs, ...(url.protocol === 'https:' ? this.tls : {}) }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  private usable<T>(value: T): T {
    this.failing = false;
    return value;
  }

  private unusable(error: unknown): undefined {
    this.unusableUntil = Date.now() + MANAGEMENT_RETRY_AFTER_MS;
    if (!this.failing) {
      this.failing = true;
      this.logger.warn(
        { err: this.scrub.error(error), managementUrl: this.endpoint.base },
        'rabbitmq: the management API cannot be read; inspect() reports in-flight counts as undefined (see options.managementUrl)',
      );
    }
    return undefined;
  }
}
