/**
 * Request and response bodies, field by field as Kafka's message definitions give them
 * (clients/src/main/resources/common/message/<Name>{Request,Response}.json): Produce, Fetch,
 * ListOffsets, Metadata and OffsetCommit fully enough to list topics, partitions, record counts and
 * error codes; every other API's response only up to its top-level error code, where that is the
 * first field (after throttle_time_ms in most).
 *
 * `v` is the API version; `f` whether it is flexible (compact strings and arrays, tagged fields at the
 * end of each structure). Field comments give the versions a field exists in, as the JSON's
 * "versions" do.
 */
import { isFlexible } from './apis.js';
import { errorName } from './errors.js';
import {
  emptyBody,
  MAX_LISTED_PARTITIONS,
  MAX_PARTITIONS,
  MAX_TOPICS,
  type ParsedBody,
  type PartitionInfo,
  type TopicInfo,
} from './messages.js';
import type { KafkaReader } from './reader.js';
import { summarizeRecords } from './records.js';

type Part = (r: KafkaReader, p: PartitionInfo, out: ParsedBody) => void;

interface Ctx {
  r: KafkaReader;
  v: number;
  f: boolean;
  out: ParsedBody;
}

/** A topic's name (string; nullable in Metadata v12+ responses) or its UUID. */
function readTopicKey(c: Ctx, t: TopicInfo, byId: boolean): void {
  if (byId) t.topicId = c.r.uuid('topic_id');
  else t.name = c.r.string(c.f, 'topic name');
}

/** The topic with its fields in reading order for people (name first), unset ones left out. */
function tidy(t: TopicInfo, withPartitions = true): TopicInfo {
  const out: TopicInfo = {};
  if (t.name !== undefined) out.name = t.name;
  if (t.topicId !== undefined) out.topicId = t.topicId;
  if (t.errorCode !== undefined) {
    out.errorCode = t.errorCode;
    out.error = t.error;
  }
  if (t.isInternal !== undefined) out.isInternal = t.isInternal;
  if (withPartitions) {
    out.partitionCount = t.partitionCount ?? 0;
    out.partitions = t.partitions ?? [];
  }
  return out;
}

/**
 * The common shape `[Topic [Partition ...] <tagged>] <tagged>`: `head` reads what precedes the
 * partitions, `part` one partition (its tagged fields are read here).
 */
function readTopics(
  c: Ctx,
  head: (t: TopicInfo) => void,
  part: Part,
  tail?: (t: TopicInfo) => void,
): TopicInfo[] | null {
  const { r, f, out } = c;
  const n = r.arrayLength(f, 'topics', 2);
  if (n < 0) return null;
  const topics: TopicInfo[] = [];
  let listed = 0;
  out.topicCount = n;
  for (let i = 0; i < n && r.ok; i++) {
    const parts: PartitionInfo[] = [];
    const t: TopicInfo = { partitions: parts, partitionCount: 0 };
    head(t);
    // A topic whose key was read is listed even if its partitions end early (a message read in
    // part); a partition only when whole.
    if (!r.ok) break;
    const pn = r.arrayLength(f, 'partitions', 4);
    t.partitionCount = Math.max(pn, 0);
    for (let j = 0; j < pn && r.ok; j++) {
      const p: PartitionInfo = { partition: 0 };
      part(r, p, out);
      if (f) r.taggedFields('partition');
      if (r.ok && parts.length < MAX_PARTITIONS && listed < MAX_LISTED_PARTITIONS) {
        parts.push(p);
        listed++;
      }
    }
    if (tail) tail(t);
    if (f) r.taggedFields('topic');
    if (topics.length < MAX_TOPICS) topics.push(tidy(t));
  }
  return topics;
}

/** Reads a topic's or partition's error_code into `p` (and the body's list, for the status). */
function errorOf(
  r: KafkaReader,
  p: { errorCode?: number; error?: string },
  out: ParsedBody,
  what = 'error_code',
): void {
  const code = r.i16(what);
  if (!r.ok) return;
  p.errorCode = code;
  p.error = errorName(code);
  out.nestedErrors.push(code);
}

/** Reads the body's top-level error_code (left null when it is not there to read). */
function topError(r: KafkaReader, out: ParsedBody): void {
  const code = r.i16('error_code');
  if (r.ok) out.errorCode = code;
}

function records(r: KafkaReader, f: boolean, p: PartitionInfo): void {
  const b = r.bytes(f, 'records');
  if (b) p.records = summarizeRecords(b);
}

function int32Array(r: KafkaReader, f: boolean, what: string): void {
  const n = r.arrayLength(f, what, 4);
  if (n > 0) r.skip(n * 4, what);
}

// ---------------------------------------------------------------------------------------------
// Requests

function produceRequest(c: Ctx): void {
  const { r, v, f, out } = c;
  if (v >= 3) out.fields.transactionalId = r.string(f, 'transactional_id');
  out.fields.acks = r.i16('acks');
  out.fields.timeoutMs = r.i32('timeout_ms');
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 13),
    (r, p) => {
      p.partition = r.i32('partition index');
      records(r, f, p);
    },
  );
}

function fetchRequest(c: Ctx): void {
  const { r, v, f, out } = c;
  if (v <= 14) out.fields.replicaId = r.i32('replica_id');
  out.fields.maxWaitMs = r.i32('max_wait_ms');
  out.fields.minBytes = r.i32('min_bytes');
  if (v >= 3) out.fields.maxBytes = r.i32('max_bytes');
  if (v >= 4) out.fields.isolationLevel = r.i8('isolation_level');
  if (v >= 7) {
    out.fields.sessionId = r.i32('session_id');
    out.fields.sessionEpoch = r.i32('session_epoch');
  }
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 13),
    (r, p) => {
      p.partition = r.i32('partition');
      if (v >= 9) r.i32('current_leader_epoch');
      p.fetchOffset = r.i64('fetch_offset');
      if (v >= 12) r.i32('last_fetched_epoch');
      if (v >= 5) r.i64('log_start_offset');
      r.i32('partition_max_bytes');
    },
  );
  if (v >= 7) {
    const n = r.arrayLength(f, 'forgotten_topics_data', 2);
    if (n >= 0) out.fields.forgottenTopics = n;
    for (let i = 0; i < n && r.ok; i++) {
      if (v >= 13) r.uuid('forgotten topic_id');
      else r.skipString(f, 'forgotten topic');
      int32Array(r, f, 'forgotten partitions');
      if (f) r.taggedFields('forgotten topic');
    }
  }
  if (v >= 11) out.fields.rackId = r.string(f, 'rack_id');
}

function listOffsetsRequest(c: Ctx): void {
  const { r, v, out } = c;
  out.fields.replicaId = r.i32('replica_id');
  if (v >= 2) out.fields.isolationLevel = r.i8('isolation_level');
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, false),
    (r, p) => {
      p.partition = r.i32('partition_index');
      if (v >= 4) r.i32('current_leader_epoch');
      p.timestamp = r.i64('timestamp');
      if (v === 0) r.i32('max_num_offsets');
    },
  );
  if (v >= 10) out.fields.timeoutMs = r.i32('timeout_ms');
}

function metadataRequest(c: Ctx): void {
  const { r, v, f, out } = c;
  // v0: an empty array asks for all topics; v1+: a null array does.
  const n = r.arrayLength(f, 'topics', 1);
  if (n >= 0 && !(v === 0 && n === 0)) {
    out.topicCount = n;
    out.topics = [];
    for (let i = 0; i < n && r.ok; i++) {
      const t: TopicInfo = {};
      if (v >= 10) t.topicId = r.uuid('topic_id');
      t.name = r.string(f, 'topic name');
      if (f) r.taggedFields('topic');
      if (r.ok && out.topics.length < MAX_TOPICS) out.topics.push(tidy(t, false));
    }
  } else {
    out.fields.allTopics = true;
  }
  if (v >= 4) out.fields.allowAutoTopicCreation = r.i8('allow_auto_topic_creation') !== 0;
  if (v >= 8 && v <= 10) r.i8('include_cluster_authorized_operations');
  if (v >= 8) r.i8('include_topic_authorized_operations');
}

function offsetCommitRequest(c: Ctx): void {
  const { r, v, f, out } = c;
  out.fields.groupId = r.string(f, 'group_id');
  if (v >= 1) {
    out.fields.generationId = r.i32('generation_id');
    out.fields.memberId = r.string(f, 'member_id');
  }
  if (v >= 7) out.fields.groupInstanceId = r.string(f, 'group_instance_id');
  if (v >= 2 && v <= 4) r.i64('retention_time_ms');
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 10),
    (r, p) => {
      p.partition = r.i32('partition_index');
      p.committedOffset = r.i64('committed_offset');
      if (v >= 6) r.i32('committed_leader_epoch');
      if (v === 1) r.i64('commit_timestamp');
      r.skipString(f, 'committed_metadata');
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Responses

function produceResponse(c: Ctx): void {
  const { r, v, f, out } = c;
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 13),
    (r, p, o) => {
      p.partition = r.i32('index');
      errorOf(r, p, o);
      p.baseOffset = r.i64('base_offset');
      if (v >= 2) r.i64('log_append_time_ms');
      if (v >= 5) r.i64('log_start_offset');
      if (v >= 8) {
        const n = r.arrayLength(f, 'record_errors', 5);
        for (let i = 0; i < n && r.ok; i++) {
          r.i32('batch_index');
          r.skipString(f, 'batch_index_error_message');
          if (f) r.taggedFields('record error');
        }
        const message = r.string(f, 'error_message');
        if (message !== null) p.errorMessage = message;
      }
    },
  );
  if (v >= 1) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
}

function fetchResponse(c: Ctx): void {
  const { r, v, f, out } = c;
  if (v >= 1) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
  if (v >= 7) {
    topError(r, out);
    out.fields.sessionId = r.i32('session_id');
  }
  let recordBytes = 0;
  let recordCount = 0;
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 13),
    (r, p, o) => {
      p.partition = r.i32('partition_index');
      errorOf(r, p, o);
      p.highWatermark = r.i64('high_watermark');
      if (v >= 4) r.i64('last_stable_offset');
      if (v >= 5) r.i64('log_start_offset');
      if (v >= 4) {
        const n = r.arrayLength(f, 'aborted_transactions', 16);
        for (let i = 0; i < n && r.ok; i++) {
          r.skip(16, 'aborted transaction');
          if (f) r.taggedFields('aborted transaction');
        }
      }
      if (v >= 11) r.i32('preferred_read_replica');
      records(r, f, p);
      recordBytes += p.records?.bytes ?? 0;
      recordCount += p.records?.records ?? 0;
    },
  );
  out.fields.recordBytes = recordBytes;
  out.fields.recordCount = recordCount;
}

function listOffsetsResponse(c: Ctx): void {
  const { r, v, f, out } = c;
  if (v >= 2) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, false),
    (r, p, o) => {
      p.partition = r.i32('partition_index');
      errorOf(r, p, o);
      if (v === 0) {
        const n = r.arrayLength(f, 'old_style_offsets', 8);
        if (n > 0) r.skip(n * 8, 'old_style_offsets');
      } else {
        p.timestamp = r.i64('timestamp');
        p.offset = r.i64('offset');
      }
      if (v >= 4) r.i32('leader_epoch');
    },
  );
}

function metadataResponse(c: Ctx): void {
  const { r, v, f, out } = c;
  if (v >= 3) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
  const nb = r.arrayLength(f, 'brokers', 10);
  const brokers: { nodeId: number; host: string | null; port: number; rack?: string | null }[] = [];
  for (let i = 0; i < nb && r.ok; i++) {
    const b: (typeof brokers)[number] = {
      nodeId: r.i32('node_id'),
      host: r.string(f, 'host'),
      port: r.i32('port'),
    };
    if (v >= 1) b.rack = r.string(f, 'rack');
    if (f) r.taggedFields('broker');
    if (brokers.length < MAX_TOPICS) brokers.push(b);
  }
  out.fields.brokers = brokers;
  if (v >= 2) out.fields.clusterId = r.string(f, 'cluster_id');
  if (v >= 1) out.fields.controllerId = r.i32('controller_id');
  out.topics = readTopics(
    c,
    (t) => {
      errorOf(r, t, out, 'topic error_code');
      t.name = r.string(f, 'topic name');
      if (v >= 10) t.topicId = r.uuid('topic_id');
      if (v >= 1) t.isInternal = r.i8('is_internal') !== 0;
    },
    (r, p, o) => {
      errorOf(r, p, o, 'partition error_code');
      p.partition = r.i32('partition_index');
      p.leader = r.i32('leader_id');
      if (v >= 7) r.i32('leader_epoch');
      int32Array(r, f, 'replica_nodes');
      int32Array(r, f, 'isr_nodes');
      if (v >= 5) int32Array(r, f, 'offline_replicas');
    },
    () => {
      if (v >= 8) r.i32('topic_authorized_operations');
    },
  );
  if (v >= 8 && v <= 10) r.i32('cluster_authorized_operations');
  if (v >= 13) topError(r, out);
}

function offsetCommitResponse(c: Ctx): void {
  const { r, v, out } = c;
  if (v >= 3) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
  out.topics = readTopics(
    c,
    (t) => readTopicKey(c, t, v >= 10),
    (r, p, o) => {
      p.partition = r.i32('partition_index');
      errorOf(r, p, o);
    },
  );
}

/**
 * Responses whose top-level error_code comes first, or right after throttle_time_ms:
 * key -> [throttle_time_ms present from this version (-1: never), error_code from, error_code until].
 * From each <Name>Response.json.
 */
const TOP_ERROR: Readonly<Record<number, readonly [number, number?, number?]>> = {
  10: [1, 0, 3], // FindCoordinator: v4+ answers per coordinator key instead
  11: [2], // JoinGroup
  12: [1], // Heartbeat
  13: [1], // LeaveGroup
  14: [1], // SyncGroup
  16: [1], // ListGroups
  17: [-1], // SaslHandshake
  18: [-1], // ApiVersions: error_code first in every version (throttle_time_ms comes last)
  22: [0], // InitProducerId
  24: [0, 4], // AddPartitionsToTxn: a top-level error from v4 (KIP-890)
  25: [0], // AddOffsetsToTxn
  26: [0], // EndTxn
  29: [0], // DescribeAcls
  35: [0, 3], // DescribeLogDirs
  36: [-1], // SaslAuthenticate
  38: [-1], // CreateDelegationToken
  39: [-1], // RenewDelegationToken
  40: [-1], // ExpireDelegationToken
  41: [-1], // DescribeDelegationToken
  43: [0, 1], // ElectLeaders
  45: [0], // AlterPartitionReassignments
  46: [0], // ListPartitionReassignments
  47: [-1], // OffsetDelete
  48: [0], // DescribeClientQuotas
  50: [0], // DescribeUserScramCredentials
  52: [-1], // Vote
  53: [-1], // BeginQuorumEpoch
  54: [-1], // EndQuorumEpoch
  55: [-1], // DescribeQuorum
  56: [0], // AlterPartition
  57: [0], // UpdateFeatures
  59: [0], // FetchSnapshot
  60: [0], // DescribeCluster
  62: [0], // BrokerRegistration
  63: [0], // BrokerHeartbeat
  64: [0], // UnregisterBroker
  66: [0], // ListTransactions
  67: [0], // AllocateProducerIds
  68: [0], // ConsumerGroupHeartbeat
  70: [0], // ControllerRegistration
  71: [0], // GetTelemetrySubscriptions
  72: [0], // PushTelemetry
  73: [0], // AssignReplicasToDirs
  74: [0], // ListClientMetricsResources
  76: [0], // ShareGroupHeartbeat
  78: [0], // ShareFetch
  79: [0], // ShareAcknowledge
  80: [0], // AddRaftVoter
  81: [0], // RemoveRaftVoter
  82: [0], // UpdateRaftVoter
  88: [0], // StreamsGroupHeartbeat
  91: [0], // AlterShareGroupOffsets
  92: [0], // DeleteShareGroupOffsets
};

/** Reads the top-level error of a response in TOP_ERROR; the rest of the body is not parsed. */
function topErrorResponse(c: Ctx, layout: readonly [number, number?, number?]): void {
  const { r, v, out } = c;
  const [throttleSince, errorSince = 0, errorUntil = Number.POSITIVE_INFINITY] = layout;
  if (throttleSince >= 0 && v >= throttleSince) out.fields.throttleTimeMs = r.i32('throttle_time_ms');
  if (v >= errorSince && v <= errorUntil) topError(r, out);
}

const REQUESTS: Readonly<Record<number, (c: Ctx) => void>> = {
  0: produceRequest,
  1: fetchRequest,
  2: listOffsetsRequest,
  3: metadataRequest,
  8: offsetCommitRequest,
};

const RESPONSES: Readonly<Record<number, (c: Ctx) => void>> = {
  0: produceResponse,
  1: fetchResponse,
  2: listOffsetsResponse,
  3: metadataResponse,
  8: offsetCommitResponse,
};

/** Whether podwire reads past the header of this API's request body. */
export function parsesRequestBody(key: number): boolean {
  return REQUESTS[key] !== undefined;
}

function run(
  r: KafkaReader,
  key: number,
  version: number,
  parse: (c: Ctx) => void,
  whole: boolean,
): ParsedBody {
  const out = emptyBody();
  const f = isFlexible(key, version);
  parse({ r, v: version, f, out });
  if (whole && f && r.ok) r.taggedFields('body');
  if (!r.ok) out.error = r.error;
  else if (whole) out.trailingBytes = r.left;
  return out;
}

/** Parses a request body; APIs not listed above give an empty result (header only). */
export function parseRequestBody(r: KafkaReader, key: number, version: number): ParsedBody {
  const parse = REQUESTS[key];
  if (!parse) return emptyBody();
  return run(r, key, version, parse, true);
}

/**
 * Parses a response body for a request of (key, version). ApiVersions answers an unsupported version
 * with a v0 body (KIP-511), whose error_code still comes first, so its layout holds either way.
 */
export function parseResponseBody(r: KafkaReader, key: number, version: number): ParsedBody {
  const parse = RESPONSES[key];
  if (parse) return run(r, key, version, parse, true);
  const layout = TOP_ERROR[key];
  if (!layout) return emptyBody();
  return run(r, key, version, (c) => topErrorResponse(c, layout), false);
}
