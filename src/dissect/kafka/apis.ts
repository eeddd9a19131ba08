/**
 * Kafka's API keys: name, highest version and first flexible version of each request, and the header
 * versions that follow from them.
 *
 * Source: Apache Kafka's message definitions, clients/src/main/resources/common/message/
 * <Name>Request.json — `apiKey`, `validVersions` (the highest version as of Kafka 4.1–4.3) and
 * `flexibleVersions` (KIP-482: from that version on, strings and arrays are compact and structures end
 * with tagged fields). A flexible version, once introduced, never changes, so the last column is stable;
 * the highest versions grow with each Kafka release.
 *
 * Kafka 4.0 (KIP-896) removed the oldest versions of several APIs on the broker, but older clients and
 * brokers still speak them, so every key is accepted from version 0 up.
 */

export interface ApiInfo {
  key: number;
  /** As Kafka spells it (the JSON `name` without `Request`). */
  name: string;
  maxVersion: number;
  /** First flexible version; null when no version is flexible. */
  flexibleSince: number | null;
}

// [key, name, highest version, first flexible version (-1: none)]
const ROWS: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, 'Produce', 13, 9],
  [1, 'Fetch', 18, 12],
  [2, 'ListOffsets', 11, 6],
  [3, 'Metadata', 13, 9],
  [4, 'LeaderAndIsr', 7, 4],
  [5, 'StopReplica', 4, 2],
  [6, 'UpdateMetadata', 8, 6],
  [7, 'ControlledShutdown', 3, 3],
  [8, 'OffsetCommit', 10, 8],
  [9, 'OffsetFetch', 10, 6],
  [10, 'FindCoordinator', 6, 3],
  [11, 'JoinGroup', 9, 6],
  [12, 'Heartbeat', 4, 4],
  [13, 'LeaveGroup', 5, 4],
  [14, 'SyncGroup', 5, 4],
  [15, 'DescribeGroups', 6, 5],
  [16, 'ListGroups', 5, 3],
  [17, 'SaslHandshake', 1, -1],
  [18, 'ApiVersions', 4, 3],
  [19, 'CreateTopics', 7, 5],
  [20, 'DeleteTopics', 6, 4],
  [21, 'DeleteRecords', 2, 2],
  [22, 'InitProducerId', 6, 2],
  [23, 'OffsetForLeaderEpoch', 4, 4],
  [24, 'AddPartitionsToTxn', 5, 3],
  [25, 'AddOffsetsToTxn', 4, 3],
  [26, 'EndTxn', 5, 3],
  [27, 'WriteTxnMarkers', 2, 1],
  [28, 'TxnOffsetCommit', 5, 3],
  [29, 'DescribeAcls', 3, 2],
  [30, 'CreateAcls', 3, 2],
  [31, 'DeleteAcls', 3, 2],
  [32, 'DescribeConfigs', 4, 4],
  [33, 'AlterConfigs', 2, 2],
  [34, 'AlterReplicaLogDirs', 2, 2],
  [35, 'DescribeLogDirs', 4, 2],
  [36, 'SaslAuthenticate', 2, 2],
  [37, 'CreatePartitions', 3, 2],
  [38, 'CreateDelegationToken', 3, 2],
  [39, 'RenewDelegationToken', 2, 2],
  [40, 'ExpireDelegationToken', 2, 2],
  [41, 'DescribeDelegationToken', 3, 2],
  [42, 'DeleteGroups', 2, 2],
  [43, 'ElectLeaders', 2, 2],
  [44, 'IncrementalAlterConfigs', 1, 1],
  [45, 'AlterPartitionReassignments', 1, 0],
  [46, 'ListPartitionReassignments', 0, 0],
  [47, 'OffsetDelete', 0, -1],
  [48, 'DescribeClientQuotas', 1, 1],
  [49, 'AlterClientQuotas', 1, 1],
  [50, 'DescribeUserScramCredentials', 0, 0],
  [51, 'AlterUserScramCredentials', 0, 0],
  [52, 'Vote', 2, 0],
  [53, 'BeginQuorumEpoch', 1, 1],
  [54, 'EndQuorumEpoch', 1, 1],
  [55, 'DescribeQuorum', 2, 0],
  [56, 'AlterPartition', 3, 0],
  [57, 'UpdateFeatures', 2, 0],
  [58, 'Envelope', 0, 0],
  [59, 'FetchSnapshot', 1, 0],
  [60, 'DescribeCluster', 2, 0],
  [61, 'DescribeProducers', 0, 0],
  [62, 'BrokerRegistration', 4, 0],
  [63, 'BrokerHeartbeat', 1, 0],
  [64, 'UnregisterBroker', 0, 0],
  [65, 'DescribeTransactions', 0, 0],
  [66, 'ListTransactions', 2, 0],
  [67, 'AllocateProducerIds', 0, 0],
  [68, 'ConsumerGroupHeartbeat', 1, 0],
  [69, 'ConsumerGroupDescribe', 1, 0],
  [70, 'ControllerRegistration', 0, 0],
  [71, 'GetTelemetrySubscriptions', 0, 0],
  [72, 'PushTelemetry', 0, 0],
  [73, 'AssignReplicasToDirs', 0, 0],
  // Renamed ListConfigResources in Kafka 4.1 (KIP-1142); the 4.0 name is the one clients still log.
  [74, 'ListClientMetricsResources', 1, 0],
  [75, 'DescribeTopicPartitions', 0, 0],
  [76, 'ShareGroupHeartbeat', 1, 0],
  [77, 'ShareGroupDescribe', 1, 0],
  [78, 'ShareFetch', 1, 0],
  [79, 'ShareAcknowledge', 1, 0],
  [80, 'AddRaftVoter', 1, 0],
  [81, 'RemoveRaftVoter', 0, 0],
  [82, 'UpdateRaftVoter', 0, 0],
  [83, 'InitializeShareGroupState', 0, 0],
  [84, 'ReadShareGroupState', 0, 0],
  [85, 'WriteShareGroupState', 0, 0],
  [86, 'DeleteShareGroupState', 0, 0],
  [87, 'ReadShareGroupStateSummary', 0, 0],
  [88, 'StreamsGroupHeartbeat', 0, 0],
  [89, 'StreamsGroupDescribe', 0, 0],
  [90, 'DescribeShareGroupOffsets', 0, 0],
  [91, 'AlterShareGroupOffsets', 0, 0],
  [92, 'DeleteShareGroupOffsets', 0, 0],
];

export const API_KEYS: readonly ApiInfo[] = ROWS.map(([key, name, maxVersion, flex]) => ({
  key,
  name,
  maxVersion,
  flexibleSince: flex < 0 ? null : flex,
}));

const BY_KEY: ReadonlyArray<ApiInfo | undefined> = (() => {
  const a: (ApiInfo | undefined)[] = [];
  for (const info of API_KEYS) a[info.key] = info;
  return a;
})();

export function apiInfo(key: number): ApiInfo | undefined {
  return key >= 0 ? BY_KEY[key] : undefined;
}

/** The API's name, or `ApiKey<n>` for a key this table does not know. */
export function apiName(key: number): string {
  return apiInfo(key)?.name ?? `ApiKey${key}`;
}

/** A version a client may send: 0 up to the highest one known. */
export function validVersion(key: number, version: number): boolean {
  const info = apiInfo(key);
  return info !== undefined && version >= 0 && version <= info.maxVersion;
}

/**
 * Whether the body of (key, version) is flexible. A version past the table's highest is taken as
 * flexible when the API has flexible versions: new versions are never less flexible than old ones.
 */
export function isFlexible(key: number, version: number): boolean {
  const since = apiInfo(key)?.flexibleSince;
  return since !== undefined && since !== null && version >= since;
}

/**
 * Request header version (Kafka protocol guide, "Common Request and Response Structure"; KIP-482):
 * v2 (client_id then tagged fields) for flexible versions, v1 otherwise; ControlledShutdown v0 alone
 * uses v0, which has no client_id (ControlledShutdownRequest.json).
 */
export function requestHeaderVersion(key: number, version: number): 0 | 1 | 2 {
  if (key === 7 && version === 0) return 0;
  return isFlexible(key, version) ? 2 : 1;
}

/**
 * Response header version: v1 (correlation_id then tagged fields) for flexible versions, v0 otherwise.
 * ApiVersions responses always use v0 (KIP-511): a client that does not yet know what the broker
 * speaks must be able to read the answer.
 */
export function responseHeaderVersion(key: number, version: number): 0 | 1 {
  if (key === 18) return 0;
  return isFlexible(key, version) ? 1 : 0;
}
