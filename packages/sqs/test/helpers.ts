// Shared by the package's tests, the contract suite and the fault suite: the credentials ElasticMQ
// takes (any), and cleanup of a run's queues.
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseSqsUrl } from '../src/index.js';

/** ElasticMQ accepts any credentials; these are not secret. */
export const testCredentials = { accessKeyId: 'omnibus-test', secretAccessKey: 'omnibus-test-secret' } as const;

/** A raw SQS client for `url` (an sqs:// URL of a custom endpoint). */
export function rawClient(url: string): SQSClient {
  const parsed = parseSqsUrl(url);
  return new SQSClient({ ...(parsed.endpoint ? { endpoint: parsed.endpoint } : {}), region: parsed.region ?? 'us-east-1', credentials: { ...testCredentials }, useQueueUrlAsEndpoint: false });
}

/** Delete every queue whose name starts with `prefix` (best effort). */
export async function deleteQueuesWithPrefix(url: string, prefix: string): Promise<number> {
  const client = rawClient(url);
  let deleted = 0;
  try {
    let NextToken: string | undefined;
    do {
      const page = await client.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken }));
      await Promise.all((page.QueueUrls ?? []).map((QueueUrl) => client.send(new DeleteQueueCommand({ QueueUrl })).then(() => (deleted += 1), () => undefined)));
      NextToken = page.NextToken;
    } while (NextToken);
  } finally {
    client.destroy();
  }
  return deleted;
}
