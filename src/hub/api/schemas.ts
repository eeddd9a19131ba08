/**
 * JSON schemas the routes share: the parameters fastify validates, and the bodies the OpenAPI
 * description documents. The parameter names and units are the API's contract (docs/hub-api.md).
 */
import { PROTOCOLS } from '../../dissect/entry.js';
import { MAX_QUERY_LENGTH } from '../../query/index.js';
import { HUB_ERRORS } from '../errors.js';
import type { JsonSchema, ResponseDoc } from './routes.js';

export { MAX_QUERY_LENGTH };
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

const time = (which: 'start' | 'end'): JsonSchema => ({
  type: 'string',
  maxLength: 64,
  description:
    which === 'start'
      ? 'Start of the time window, inclusive: epoch milliseconds (as Grafana’s `$__from`) or an RFC 3339 date-time.'
      : 'End of the time window, inclusive: epoch milliseconds (as Grafana’s `$__to`) or an RFC 3339 date-time.',
  examples: which === 'start' ? ['1764752400000', '2026-12-03T09:00:00Z'] : ['1764756000000'],
});

export const QUERY_PARAM: JsonSchema = {
  type: 'string',
  maxLength: MAX_QUERY_LENGTH,
  description: 'A filter in podwire’s query language (KFL or CEL form); empty or absent: everything.',
  examples: ['http and response.status >= 500', 'redis && method == "SET"'],
};

export const WINDOW_PARAMS: Record<string, JsonSchema> = { from: time('start'), to: time('end') };

export const PAGE_PARAMS: Record<string, JsonSchema> = {
  cursor: {
    type: 'string',
    maxLength: 1024,
    description:
      'Where the previous page ended: its `cursor`, passed back unchanged. Absent: the first page.',
  },
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_LIMIT,
    default: DEFAULT_LIMIT,
    description: `Records per page, 1 to ${MAX_LIMIT}.`,
  },
};

export const QUERY_NAME: JsonSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$',
  description:
    'A saved query’s name: 1 to 64 letters, digits, `_`, `.`, `:` and `-`, starting with a letter or digit.',
};

const endpoint: JsonSchema = {
  type: 'object',
  required: ['ip', 'port'],
  properties: {
    ip: { type: 'string' },
    port: { type: 'integer' },
    name: { type: 'string' },
    namespace: { type: 'string' },
    kind: { type: 'string', enum: ['pod', 'service', 'node', 'external'] },
    workload: { type: 'string' },
    node: { type: 'string' },
  },
};

const entryCommon: Record<string, JsonSchema> = {
  type: { type: 'string', enum: ['entry'] },
  id: { type: 'string', description: 'The hub’s id of the entry (what `/api/entries/{id}` takes).' },
  localId: { type: 'string', description: 'The agent’s id: `<connectionId>-<n>` for TCP, `u<n>` for UDP.' },
  protocol: { type: 'string', enum: [...PROTOCOLS] },
  timestamp: { type: 'integer', description: 'Request start, microseconds since the epoch.' },
  elapsedMs: { type: ['number', 'null'] },
  src: endpoint,
  dst: endpoint,
  method: { type: 'string' },
  path: { type: 'string' },
  status: { type: ['string', 'number', 'null'] },
  requestSize: { type: 'integer' },
  responseSize: { type: 'integer' },
  connectionId: { type: ['integer', 'null'] },
  node: { type: 'string' },
  error: { type: ['string', 'null'] },
};

/** An entry in a list: everything but the request and response detail. */
export const ENTRY_SUMMARY: JsonSchema = {
  type: 'object',
  required: ['id', 'protocol', 'timestamp', 'src', 'dst', 'method', 'path', 'status'],
  properties: entryCommon,
};

/** One entry in full (src/dissect/entry.ts), as `podwire analyze --format jsonl` prints it. */
export const ENTRY: JsonSchema = {
  type: 'object',
  required: ['id', 'protocol', 'timestamp', 'src', 'dst', 'method', 'path', 'status', 'request', 'response'],
  properties: {
    ...entryCommon,
    request: { type: 'object', description: 'The protocol’s request detail: headers, body, fields.' },
    response: { type: ['object', 'null'], description: 'The protocol’s response detail; null without one.' },
  },
};

const direction: JsonSchema = {
  type: 'object',
  properties: {
    packets: { type: 'integer' },
    bytes: { type: 'integer' },
    wireBytes: { type: 'integer' },
    retransmissions: { type: 'integer' },
    outOfOrder: { type: 'integer' },
    gaps: { type: 'integer' },
    gapBytes: { type: 'integer' },
  },
};

/** The connection record (src/flows/connection.ts). */
export const CONNECTION: JsonSchema = {
  type: 'object',
  required: ['id', 'src', 'dst', 'start', 'end', 'closeReason', 'sent', 'received'],
  properties: {
    type: { type: 'string', enum: ['connection'] },
    id: { type: 'integer' },
    src: endpoint,
    dst: endpoint,
    ipVersion: { type: 'integer', enum: [4, 6] },
    start: { type: 'integer', description: 'First packet, µs since the epoch.' },
    end: { type: 'integer', description: 'Last packet, µs since the epoch.' },
    durationMs: { type: 'number' },
    closeReason: { type: 'string', enum: ['open', 'fin', 'rst', 'timeout'] },
    closedBy: { type: ['string', 'null'], enum: ['src', 'dst', null] },
    midstream: { type: 'boolean' },
    handshake: { type: ['object', 'null'] },
    sent: direction,
    received: direction,
    l7: { type: 'object' },
    node: { type: 'string' },
  },
};

const edgeLatency: JsonSchema = {
  type: 'object',
  properties: {
    p50: { type: ['number', 'null'] },
    p95: { type: ['number', 'null'] },
    p99: { type: ['number', 'null'] },
    samples: { type: 'integer' },
  },
  description: 'Response-time percentiles in ms (within 1%), over the `samples` entries that had a response.',
};

/** The service map (src/store/service-map.ts). */
export const SERVICE_MAP: JsonSchema = {
  type: 'object',
  required: ['nodes', 'edges', 'droppedEdges', 'droppedEntries', 'partial'],
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'namespace', 'kind', 'entries'],
        properties: {
          id: {
            type: 'string',
            description: '`<kind>/<namespace>/<workload or name>`, or the IP when unnamed.',
          },
          name: { type: 'string' },
          namespace: { type: ['string', 'null'] },
          kind: { type: ['string', 'null'], enum: ['pod', 'service', 'node', 'external', null] },
          entries: {
            type: 'object',
            properties: { client: { type: 'integer' }, server: { type: 'integer' } },
          },
        },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'source', 'target', 'protocol', 'count', 'errors', 'errorRate', 'latency'],
        properties: {
          id: { type: 'string' },
          source: { type: 'string' },
          target: { type: 'string' },
          protocol: { type: 'string', enum: [...PROTOCOLS] },
          count: { type: 'integer' },
          errors: { type: 'integer' },
          errorRate: { type: 'number' },
          requestBytes: { type: 'integer' },
          responseBytes: { type: 'integer' },
          latency: edgeLatency,
        },
      },
    },
    droppedEdges: { type: 'integer', description: 'Edges past the cap (10,000), left out.' },
    droppedEntries: { type: 'integer', description: 'The entries of those edges.' },
    partial: {
      type: ['object', 'null'],
      required: ['entries', 'from'],
      properties: {
        entries: { type: 'integer', description: 'Entries the map was built from: maxEntries.' },
        from: { type: 'integer', description: 'The oldest of them (µs since the epoch).' },
      },
      description:
        'Null when every matching entry of the window was read; else the map is of the newest ' +
        '`maxEntries` only, back to `from`: ask with a later window or a larger maxEntries for the rest.',
    },
  },
};

export const SAVED_QUERY: JsonSchema = {
  type: 'object',
  required: ['name', 'query', 'savedAt'],
  properties: {
    name: { type: 'string' },
    query: { type: 'string' },
    savedAt: { type: 'string', description: 'When it was last saved, RFC 3339.' },
  },
};

export const ERROR: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: `One of docs/hub-api.md’s codes (${Object.keys(HUB_ERRORS).length} of the hub, and the query language’s).`,
        },
        message: { type: 'string' },
        span: {
          type: 'object',
          required: ['start', 'end'],
          properties: { start: { type: 'integer' }, end: { type: 'integer' } },
          description: 'For a query’s errors: where in the query text (UTF-16 offsets, end exclusive).',
        },
        hint: { type: 'string' },
      },
    },
  },
};

/** A page of `items` (an array of `item`) with the cursor of the next page. */
export function page(items: string, item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: [items, 'cursor'],
    properties: {
      [items]: { type: 'array', items: item },
      cursor: {
        type: ['string', 'null'],
        description: 'Pass it as `cursor` for the next page; null: this was the last page.',
      },
    },
  };
}

export function errorResponse(description: string): ResponseDoc {
  return { description, schema: ERROR };
}
