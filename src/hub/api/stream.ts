/**
 * `GET /api/stream`: live entries over a WebSocket, filtered by the hub. Each client subscribes to
 * the live feed with its query compiled to a predicate (src/query, the same parser the REST routes
 * use for SQL), and gets a bounded send queue (send-queue.ts): a slow reader loses the oldest
 * entries, is told how many, and never grows the hub's memory.
 *
 * Messages, all JSON text frames (docs/hub-api.md):
 * - hub to client: an entry (`{"type":"entry", ...}`, as `podwire analyze --format jsonl`);
 *   `{"type":"query","query":TEXT|null}` when a filter takes effect (everything after it passed
 *   that filter); `{"type":"dropped","count":N}` where N entries were dropped for a slow reader;
 *   `{"type":"error","error":{code,message,span?,hint?}}` for a bad query or message (the previous
 *   filter stays; after a bad initial `?q=` nothing is sent until a good query arrives).
 * - client to hub: `{"query": TEXT}` to change the filter, `{"query": null}` (or `""`) for all.
 *
 * `GET /api/stream/stats` shows the feed and every client's queue, for operators and tests.
 */
import '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Entry } from '../../dissect/entry.js';
import { QueryError } from '../../query/index.js';
import { body, type ErrorBody, queryErrorBody } from '../errors.js';
import type { Subscription } from '../live.js';
import { type ApiDeps, livePredicate } from './deps.js';
import type { RouteTable } from './routes.js';
import { errorResponse, QUERY_PARAM } from './schemas.js';
import {
  DEFAULT_SEND_QUEUE_LIMITS,
  SendQueue,
  type SendQueueLimits,
  type SendQueueStats,
} from './send-queue.js';

/** A message from a client larger than this is refused: room for the longest query, JSON-escaped. */
const MAX_CLIENT_MESSAGE = 100 << 10; // >= MAX_QUERY_LENGTH * 6: each character \uXXXX-escaped
const NOTHING = (): boolean => false;
/** WebSocket close codes (RFC 6455 §7.4.1; 1013 from the IANA registry). */
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;

interface Client {
  id: number;
  connectedAt: string;
  query: string | null;
  queue: SendQueue;
  subscription: Subscription;
}

export interface StreamClientStats extends SendQueueStats {
  id: number;
  connectedAt: string;
  query: string | null;
}

export function streamRoutes(api: FastifyInstance, table: RouteTable, deps: ApiDeps): void {
  const limits: SendQueueLimits = { ...DEFAULT_SEND_QUEUE_LIMITS, ...deps.stream?.queue };
  const maxClients = deps.stream?.maxClients ?? 32;
  const clients = new Set<Client>();
  let nextId = 1;
  let rejected = 0;

  // Every client gets the same bytes for an entry: encode once per publish, not once per client.
  let lastEntry: Entry | null = null;
  let lastData: Buffer = Buffer.alloc(0);
  const encode = (e: Entry): Buffer => {
    if (e !== lastEntry) {
      lastData = Buffer.from(JSON.stringify(e));
      lastEntry = e;
    }
    return lastData;
  };

  const control = (client: Client, socket: WebSocket, message: unknown): void => {
    if (!client.queue.pushControl(Buffer.from(JSON.stringify(message))))
      socket.close(POLICY_VIOLATION, 'too many unread replies: read the stream');
  };

  const applyQuery = (client: Client, socket: WebSocket, text: string | null): void => {
    let filter: ((e: Entry) => boolean) | null;
    try {
      filter = livePredicate(deps, text);
    } catch (err) {
      if (!(err instanceof QueryError)) throw err;
      control(client, socket, { type: 'error', ...queryErrorBody(err) });
      return;
    }
    const normalized = text === null || text.trim() === '' ? null : text;
    client.subscription.setFilter(filter);
    client.query = normalized;
    // Synchronous with setFilter: no entry can be published between the two, so the entries
    // after this message on the wire are exactly those the new filter passed.
    control(client, socket, { type: 'query', query: normalized });
  };

  const badMessage = (client: Client, socket: WebSocket, message: string): void => {
    const error: ErrorBody = body(
      'hub.stream_bad_message',
      message,
      'send {"query": "<text>"} or {"query": null}',
    );
    control(client, socket, { type: 'error', ...error });
  };

  const onMessage = (client: Client, socket: WebSocket, data: RawData, isBinary: boolean): void => {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (isBinary || size > MAX_CLIENT_MESSAGE) {
      badMessage(
        client,
        socket,
        isBinary ? 'binary messages are not understood' : `a message of ${size} bytes is too large`,
      );
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      badMessage(client, socket, 'the message is not JSON');
      return;
    }
    const query =
      typeof msg === 'object' && msg !== null && !Array.isArray(msg)
        ? (msg as { query?: unknown }).query
        : undefined;
    if (query !== null && typeof query !== 'string') {
      badMessage(client, socket, 'the message needs a `query`: a string, or null for every entry');
      return;
    }
    applyQuery(client, socket, query);
  };

  const wsHandler = (socket: WebSocket, req: { query: unknown }): void => {
    if (clients.size >= maxClients) {
      rejected++;
      socket.send(
        JSON.stringify({
          type: 'error',
          ...body('hub.stream_full', `the hub serves at most ${maxClients} live streams at once`),
        }),
      );
      socket.close(TRY_AGAIN_LATER, 'too many live streams');
      return;
    }
    const queue = new SendQueue(socket, limits);
    const client: Client = {
      id: nextId++,
      connectedAt: new Date().toISOString(),
      query: null,
      queue,
      subscription: deps.live.subscribe(NOTHING, (e) => queue.pushEntry(encode(e))),
    };
    clients.add(client);
    socket.on('close', () => {
      client.subscription.unsubscribe();
      queue.close();
      clients.delete(client);
    });
    socket.on('message', (data, isBinary) => onMessage(client, socket, data, isBinary));
    const q = (req.query as { q?: string }).q;
    applyQuery(client, socket, q ?? null);
  };

  table.add(
    api,
    {
      method: 'GET',
      url: '/stream',
      schema: {
        querystring: {
          type: 'object',
          properties: {
            q: QUERY_PARAM,
            access_token: {
              type: 'string',
              description:
                'The bearer token, for browsers that cannot set `Authorization` on a WebSocket (RFC 6750 §2.3).',
            },
          },
        },
      },
      doc: {
        operationId: 'streamEntries',
        summary: 'Live entries (WebSocket)',
        description:
          'Upgrade to a WebSocket to receive entries as the hub takes them in, filtered by `q`. Frames are JSON: ' +
          'entries (`type: "entry"`), `{"type":"query","query":...}` when a filter takes effect, ' +
          '`{"type":"dropped","count":N}` where N entries were dropped because the client read too slowly, and ' +
          '`{"type":"error","error":{...}}`. Send `{"query":"<text>"}` (or `null`) to change the filter.',
        tags: ['stream'],
        responses: {
          '101': { description: 'Switching to the WebSocket protocol.' },
          '426': errorResponse('`hub.upgrade_required`: a plain HTTP request.'),
        },
      },
    },
    {
      wsHandler: wsHandler as never,
      handler: async (_req, reply) => {
        reply
          .code(426)
          .header('upgrade', 'websocket')
          .send(body('hub.upgrade_required', '/api/stream is a WebSocket: connect with a WebSocket client'));
        return reply;
      },
    },
  );

  table.add(
    api,
    {
      method: 'GET',
      url: '/stream/stats',
      schema: {},
      doc: {
        operationId: 'streamStats',
        summary: 'The live feed and its clients',
        description:
          'Counters of the live feed (published, delivered) and, per WebSocket client, its query and send queue: ' +
          'what waits, the most that ever waited, what was sent and dropped.',
        tags: ['stream'],
        responses: { '200': { description: 'The counters.', schema: STREAM_STATS } },
      },
    },
    {
      handler: async () => ({
        feed: deps.live.stats(),
        maxClients,
        rejected,
        limits,
        clients: [...clients].map(
          (c): StreamClientStats => ({
            id: c.id,
            connectedAt: c.connectedAt,
            query: c.query,
            ...c.queue.stats(),
          }),
        ),
      }),
    },
  );
}

const integer = { type: 'integer' };

const STREAM_STATS = {
  type: 'object',
  required: ['feed', 'maxClients', 'rejected', 'limits', 'clients'],
  properties: {
    feed: {
      type: 'object',
      properties: {
        subscribers: integer,
        published: integer,
        delivered: integer,
        filterErrors: integer,
        sinkErrors: integer,
      },
    },
    maxClients: integer,
    rejected: { ...integer, description: 'Clients refused because maxClients were connected.' },
    limits: {
      type: 'object',
      properties: { maxMessages: integer, maxBytes: integer, highWaterBytes: integer, maxControl: integer },
    },
    clients: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: integer,
          connectedAt: { type: 'string' },
          query: { type: ['string', 'null'] },
          queued: integer,
          queuedBytes: integer,
          peakQueued: integer,
          peakQueuedBytes: integer,
          sent: integer,
          dropped: integer,
          unannounced: integer,
          bufferedAmount: integer,
        },
      },
    },
  },
};
