/**
 * Kafka message model and headers (Kafka protocol guide, "Common Request and Response Structure"):
 * every message is `Size (int32) + header + body`; a request header names the API (key and version)
 * and carries a correlation id, which the response header repeats.
 */
import { requestHeaderVersion, responseHeaderVersion } from './apis.js';
import type { KafkaReader } from './reader.js';
import type { RecordsSummary } from './records.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the header has none (v0) or sends a null string. */
  clientId: string | null;
  headerVersion: 0 | 1 | 2;
}

/** One partition as an entry lists it; which fields are set depends on the API and direction. */
export interface PartitionInfo {
  partition: number;
  errorCode?: number;
  error?: string;
  errorMessage?: string;
  fetchOffset?: number;
  timestamp?: number;
  committedOffset?: number;
  baseOffset?: number;
  highWatermark?: number;
  offset?: number;
  leader?: number;
  records?: RecordsSummary;
}

export interface TopicInfo {
  /** The topic name; Fetch v13+ (and Produce v13+, OffsetCommit v10+) name topics by id instead. */
  name?: string | null;
  /** Kafka's textual form of the topic's UUID (URL-safe base64, as kafka-topics.sh prints it). */
  topicId?: string;
  errorCode?: number;
  error?: string;
  isInternal?: boolean;
  /**
   * Listed up to MAX_PARTITIONS per topic and MAX_LISTED_PARTITIONS per message; `partitionCount` has
   * the total. Absent where the API names topics only.
   */
  partitions?: PartitionInfo[];
  partitionCount?: number;
}

/** What a body parser found: the fields for the entry, the topics, and every error code in order. */
export interface ParsedBody {
  fields: Record<string, unknown>;
  /** Null when the API carries no topic list, or asks for all topics (Metadata with a null list). */
  topics: TopicInfo[] | null;
  topicCount: number;
  /** The top-level error code, if the body has one. */
  errorCode: number | null;
  /** Partition- and topic-level error codes, in wire order. */
  nestedErrors: number[];
  /** The first reason the body did not parse; what was read before it is kept. */
  error: string | null;
  /** Body bytes left after the parsed structure. */
  trailingBytes: number;
}

export const MAX_TOPICS = 64;
export const MAX_PARTITIONS = 64;
/** Partitions listed in one message, all topics together (a request waiting for its answer keeps them). */
export const MAX_LISTED_PARTITIONS = 128;

export function emptyBody(): ParsedBody {
  return {
    fields: {},
    topics: null,
    topicCount: 0,
    errorCode: null,
    nestedErrors: [],
    error: null,
    trailingBytes: 0,
  };
}

/** Reads a request header; the reader is then at the body. */
export function readRequestHeader(r: KafkaReader): RequestHeader {
  const apiKey = r.i16('request_api_key');
  const apiVersion = r.i16('request_api_version');
  const correlationId = r.i32('correlation_id');
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  // client_id stays a classic NULLABLE_STRING even in header v2 (KIP-482 kept it readable by
  // brokers that do not know the API version yet).
  const clientId = headerVersion >= 1 ? r.string(false, 'client_id') : null;
  if (headerVersion === 2) r.taggedFields('request header');
  return { apiKey, apiVersion, correlationId, clientId, headerVersion };
}

/** Reads a response header for a request of (key, version); returns the correlation id. */
export function readResponseHeader(r: KafkaReader, apiKey: number, apiVersion: number): number {
  const correlationId = r.i32('correlation_id');
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.taggedFields('response header');
  return correlationId;
}
