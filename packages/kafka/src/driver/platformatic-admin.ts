import {
  FetchIsolationLevels,
  FindCoordinatorKeyTypes,
  GenericError,
  kGetApi,
  kGetBootstrapConnection,
  kGetConnection,
  kPerformWithRetry,
  type API,
  type Base,
  type BaseOptions,
  type Connection,
  type describeConfigsV4,
  type findCoordinatorV6,
  type listOffsetsV9,
  type metadataV12,
  type offsetFetchV9,
} from '@platformatic/kafka';

/**
 * Requests @platformatic/kafka 1.22's Admin has no method for (findCoordinator,
 * describeConfigs, listConsumerGroupOffsets, listOffsets and the controller id of the
 * metadata came in later releases), sent the way the client sends its own: through the
 * client's connection pool, the highest version of the API both the client and the broker
 * know, retried as the client retries (its retries and retryDelay; a failure that says the
 * metadata is stale refreshes it first). The response errors are the client's own
 * (ResponseError of ProtocolErrors), so driverError reads them as any other.
 */

type Client = Base<BaseOptions>;

/** The CONFIG resource type of a topic (DescribeConfigs). */
export const TOPIC_RESOURCE = 2;

function callback<T>(resolve: (value: T) => void, reject: (error: Error) => void): (error: Error | null, value: T) => void {
  return (error, value) => (error ? reject(error) : resolve(value));
}

function apiOf<Args extends unknown[], Response>(client: Client, name: string): Promise<API<Args, Response>> {
  return new Promise((resolve, reject) => client[kGetApi]<Args, Response>(name, callback(resolve, reject)));
}

function bootstrapConnection(client: Client): Promise<Connection> {
  return new Promise((resolve, reject) => client[kGetBootstrapConnection](callback(resolve, reject)));
}

/** A connection of the client's pool to broker `nodeId`. */
export async function nodeConnection(client: Client, nodeId: number): Promise<Connection> {
  const broker = (await client.metadata({ topics: [] })).brokers.get(nodeId);
  if (!broker) throw new Error(`broker ${nodeId} is not in the cluster metadata`);
  return new Promise((resolve, reject) => client[kGetConnection](broker, callback(resolve, reject)));
}

function retried<T>(client: Client, operation: string, run: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    void client[kPerformWithRetry]<T>(
      operation,
      (done) => {
        run().then(
          (value) => done(null, value),
          (error: unknown) => {
            if (error instanceof GenericError && error.findBy('hasStaleMetadata', true)) client.clearMetadata();
            done(error instanceof Error ? error : new Error(String(error)), undefined as never);
          },
        );
      },
      callback(resolve, reject),
      0,
    );
  });
}

/** The node id of the coordinator of `groupId`. */
export function findGroupCoordinator(client: Client, groupId: string): Promise<number> {
  return retried(client, 'findCoordinator', async () => {
    const api = await apiOf<findCoordinatorV6.FindCoordinatorRequest, findCoordinatorV6.FindCoordinatorResponse>(client, 'FindCoordinator');
    const { coordinators } = await api.async(await bootstrapConnection(client), FindCoordinatorKeyTypes.GROUP, [groupId]);
    const found = coordinators.find((coordinator) => coordinator.key === groupId);
    if (!found) throw new Error(`no coordinator found for group "${groupId}"`);
    return found.nodeId;
  });
}

/** The configs `keys` of `topic` (any broker answers for a topic's configs). */
export function describeTopicConfigs(client: Client, topic: string, keys: string[]): Promise<describeConfigsV4.DescribeConfigsResponseConfig[]> {
  return retried(client, 'describeConfigs', async () => {
    const api = await apiOf<describeConfigsV4.DescribeConfigsRequest, describeConfigsV4.DescribeConfigsResponse>(client, 'DescribeConfigs');
    const { results } = await api.async(await bootstrapConnection(client), [{ resourceType: TOPIC_RESOURCE, resourceName: topic, configurationKeys: keys }], false, false);
    return results.find((result) => result.resourceName === topic)?.configs ?? [];
  });
}

/** What group `groupId` committed for these partitions (OffsetFetch, asked from outside the group). */
export function fetchCommittedOffsets(client: Client, groupId: string, topics: offsetFetchV9.OffsetFetchRequestTopic[]): Promise<offsetFetchV9.OffsetFetchResponseTopic[]> {
  return retried(client, 'offsetFetch', async () => {
    const connection = await nodeConnection(client, await findGroupCoordinator(client, groupId));
    const api = await apiOf<offsetFetchV9.OffsetFetchRequest, offsetFetchV9.OffsetFetchResponse>(client, 'OffsetFetch');
    const { groups } = await api.async(connection, [{ groupId, memberId: null, memberEpoch: -1, topics }], false);
    return groups.find((group) => group.groupId === groupId)?.topics ?? [];
  });
}

/** The offsets of these partitions of `topic` at `timestamp` (ListOffsets to each partition's leader). */
export function listOffsets(client: Client, topic: string, partitions: readonly number[], timestamp: bigint): Promise<listOffsetsV9.ListOffsetResponsePartition[]> {
  return retried(client, 'listOffsets', async () => {
    const metadata = await client.metadata({ topics: [topic] });
    const known = metadata.topics.get(topic);
    const byLeader = new Map<number, listOffsetsV9.ListOffsetsRequestPartition[]>();
    for (const partitionIndex of partitions) {
      const partition = known?.partitions[partitionIndex];
      if (!partition) throw new Error(`unknown partition ${partitionIndex} of topic "${topic}"`);
      let requests = byLeader.get(partition.leader);
      if (!requests) byLeader.set(partition.leader, (requests = []));
      requests.push({ partitionIndex, currentLeaderEpoch: partition.leaderEpoch, timestamp });
    }
    const api = await apiOf<listOffsetsV9.ListOffsetsRequest, listOffsetsV9.ListOffsetsResponse>(client, 'ListOffsets');
    const responses = await Promise.all(
      [...byLeader].map(async ([leader, requests]) => api.async(await nodeConnection(client, leader), -1, FetchIsolationLevels.READ_UNCOMMITTED, [{ name: topic, partitions: requests }])),
    );
    return responses.flatMap(({ topics }) => topics.filter(({ name }) => name === topic).flatMap(({ partitions: listed }) => listed));
  });
}

/** The cluster's controller (a node id; -1 when the broker names none), from a Metadata request of no topic. */
export function controllerId(client: Client): Promise<number> {
  return retried(client, 'metadata', async () => {
    const api = await apiOf<metadataV12.MetadataRequest, metadataV12.MetadataResponse>(client, 'Metadata');
    return (await api.async(await bootstrapConnection(client), [], false, false)).controllerId;
  });
}
