/** `GET /api/connections`: stored TCP connection records in a time window, a page at a time. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './deps.js';
import type { RouteTable } from './routes.js';
import { CONNECTION, DEFAULT_LIMIT, errorResponse, PAGE_PARAMS, page, WINDOW_PARAMS } from './schemas.js';
import { storeCall } from './store-call.js';
import { parseWindow } from './time.js';

interface ConnectionsQuery {
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
  node?: string;
}

export function connectionsRoutes(api: FastifyInstance, table: RouteTable, deps: ApiDeps): void {
  table.add(
    api,
    {
      method: 'GET',
      url: '/connections',
      schema: {
        querystring: {
          type: 'object',
          properties: {
            ...WINDOW_PARAMS,
            ...PAGE_PARAMS,
            node: {
              type: 'string',
              minLength: 1,
              maxLength: 253,
              description: 'Only the connections this node’s agent captured (the record’s `node`).',
            },
          },
        },
      },
      doc: {
        operationId: 'listConnections',
        summary: 'Stored TCP connections, paged',
        description:
          'Connection records seen in the window (a connection counts when it overlaps it), optionally of one node, ' +
          'in the store’s order. Follow `cursor` until it is null to walk them all once.',
        tags: ['connections'],
        responses: {
          '200': { description: 'A page of connection records.', schema: page('connections', CONNECTION) },
          '400': errorResponse('A bad time, window, cursor or limit.'),
        },
      },
    },
    {
      handler: async (req) => {
        const qs = req.query as ConnectionsQuery;
        const window = parseWindow(qs);
        return storeCall(() =>
          deps.store.connections({
            ...window,
            ...(qs.cursor ? { cursor: qs.cursor } : {}),
            ...(qs.node !== undefined ? { node: qs.node } : {}),
            limit: qs.limit ?? DEFAULT_LIMIT,
          }),
        );
      },
    },
  );
}
