/**
 * Apache Kafka's wire protocol (Kafka protocol guide, kafka.apache.org/protocol; message definitions
 * in clients/src/main/resources/common/message/*.json): request/response pairs by correlation id,
 * with topics, partitions, record counts and error codes for Produce, Fetch, ListOffsets, Metadata
 * and OffsetCommit, and the header and top-level error of every other API.
 */
import type { TcpDissector } from '../dissector.js';
import { detectKafka } from './detect.js';
import { KafkaSession } from './session.js';

export const kafkaDissector: TcpDissector = {
  name: 'kafka',
  protocol: 'kafka',
  ports: [9092],
  spec: 'Kafka protocol guide (kafka.apache.org/protocol); Kafka message definitions (common/message/*.json), KIP-482',
  detect: detectKafka,
  createSession: (ctx) => new KafkaSession(ctx),
};
