/**
 * The Entry: one dissected exchange (a request and its response, a message, a handshake), the unit
 * users list, search and read. Field names are shared by the JSON output, the APIs, the UI and the
 * query language (DESIGN.md, "The entry").
 */

export const PROTOCOLS = [
  'http',
  'grpc',
  'graphql',
  'websocket',
  'tls',
  'dns',
  'redis',
  'postgres',
  'mysql',
  'kafka',
  'amqp',
  'mqtt',
  'nats',
] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** An endpoint as entries name it. The Kubernetes fields are filled by enrichment, later. */
export interface EntryEndpoint {
  ip: string;
  port: number;
  name?: string;
  namespace?: string;
  kind?: 'pod' | 'service' | 'node' | 'external';
  workload?: string;
  node?: string;
}

export interface Entry {
  type: 'entry';
  /** `<connectionId>-<n>` for TCP, `u<n>` for UDP; unique within a run. */
  id: string;
  protocol: Protocol;
  /** Request start (the first byte of the request), microseconds since the Unix epoch. */
  timestamp: number;
  /** Response latency: from the request's first byte to the response's first byte; null without one. */
  elapsedMs: number | null;
  src: EntryEndpoint;
  dst: EntryEndpoint;
  /** The summary columns (DESIGN.md's per-protocol table). */
  method: string;
  path: string;
  status: string | number | null;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  /** Bytes on the wire of the request and response messages (headers and bodies). */
  requestSize: number;
  responseSize: number;
  /** The TCP connection's id; null for UDP. */
  connectionId: number | null;
  /** The node (agent) whose capture saw it; set by the agent, absent offline. */
  node?: string;
  /** Why the entry is incomplete or odd (a gap in the stream, a response never seen...), else null. */
  error: string | null;
}
