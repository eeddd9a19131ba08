/**
 * `GET /api/servicemap`: who called whom in a time window: services (workloads, or addresses when
 * unnamed) as nodes and their calls as edges, with counts, bytes, latency percentiles and error
 * rates, over the entries that match `q`.
 */
import type { FastifyInstance } from 'fastify';
import { type ApiDeps, sqlWhere } from './deps.js';
import type { RouteTable } from './routes.js';
import { errorResponse, QUERY_PARAM, SERVICE_MAP, WINDOW_PARAMS } from './schemas.js';
import { storeRead } from './store-call.js';
import { parseWindow } from './time.js';

interface ServiceMapQuery {
  q?: string;
  from?: string;
  to?: string;
  maxEntries?: number;
}

export function serviceMapRoutes(api: FastifyInstance, table: RouteTable, deps: ApiDeps): void {
  table.add(
    api,
    {
      method: 'GET',
      url: '/servicemap',
      schema: {
        querystring: {
          type: 'object',
          properties: {
            q: QUERY_PARAM,
            ...WINDOW_PARAMS,
            maxEntries: {
              type: 'integer',
              minimum: 1,
              maximum: 5_000_000,
              description:
                'Build the map from at most this many of the newest matching entries (default ' +
                "250,000: about a second of the hub's time); `partial` says when the window held more.",
            },
          },
        },
      },
      doc: {
        operationId: 'getServiceMap',
        summary: 'The service map of a time window',
        description:
          'Nodes and edges built from the stored entries in the window that match `q`. ' +
          'Empty lists, never null, when nothing matches.',
        tags: ['servicemap'],
        responses: {
          '200': { description: 'The map.', schema: SERVICE_MAP },
          '400': errorResponse('A bad query (with `span` and `hint`), time or window.'),
          '503': errorResponse(
            '`hub.query_timeout`: the query ran past the hub’s deadline (30 s) and was abandoned.',
          ),
        },
      },
    },
    {
      handler: async (req) => {
        const qs = req.query as ServiceMapQuery;
        const window = parseWindow(qs);
        const where = sqlWhere(deps, qs.q);
        return storeRead(() =>
          deps.store.serviceMapAsync({
            ...window,
            ...(where ? { where } : {}),
            ...(qs.maxEntries !== undefined ? { maxEntries: qs.maxEntries } : {}),
          }),
        );
      },
    },
  );
}
