/**
 * `GET /api/entries`: stored entries, newest first, filtered by a query and a time window, a page
 * at a time (the store's cursors: src/store/cursor.ts). `GET /api/entries/:id`: one entry with its
 * request and response detail.
 */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { type ApiDeps, sqlWhere } from './deps.js';
import type { RouteTable } from './routes.js';
import {
  DEFAULT_LIMIT,
  ENTRY,
  ENTRY_SUMMARY,
  errorResponse,
  PAGE_PARAMS,
  page,
  QUERY_PARAM,
  WINDOW_PARAMS,
} from './schemas.js';
import { storeCall, storeRead } from './store-call.js';
import { parseWindow } from './time.js';

interface EntriesQuery {
  q?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

export function entriesRoutes(api: FastifyInstance, table: RouteTable, deps: ApiDeps): void {
  table.add(
    api,
    {
      method: 'GET',
      url: '/entries',
      schema: {
        querystring: {
          type: 'object',
          properties: { q: QUERY_PARAM, ...WINDOW_PARAMS, ...PAGE_PARAMS },
        },
      },
      doc: {
        operationId: 'listEntries',
        summary: 'Stored entries, filtered and paged',
        description:
          'Entry summaries (no request/response detail) whose `timestamp` is in the window and that match `q`, ' +
          'in the store’s order (newest first). Follow `cursor` until it is null to walk every match exactly once.',
        tags: ['entries'],
        responses: {
          '200': { description: 'A page of entries.', schema: page('entries', ENTRY_SUMMARY) },
          '400': errorResponse('A bad query (with `span` and `hint`), time, window, cursor or limit.'),
          '503': errorResponse(
            '`hub.query_timeout`: the query ran past the hub’s deadline (30 s) and was abandoned.',
          ),
        },
      },
    },
    {
      handler: async (req) => {
        const qs = req.query as EntriesQuery;
        const window = parseWindow(qs);
        const where = sqlWhere(deps, qs.q);
        return storeRead(() =>
          deps.store.entriesAsync({
            ...window,
            ...(where ? { where } : {}),
            ...(qs.cursor ? { cursor: qs.cursor } : {}),
            limit: qs.limit ?? DEFAULT_LIMIT,
          }),
        );
      },
    },
  );

  table.add(
    api,
    {
      method: 'GET',
      url: '/entries/:id',
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 256, description: 'The entry’s `id`.' },
          },
        },
      },
      doc: {
        operationId: 'getEntry',
        summary: 'One entry in full',
        description: 'The entry with its request and response detail, as stored (after redaction).',
        tags: ['entries'],
        responses: {
          '200': { description: 'The entry.', schema: ENTRY },
          '404': errorResponse('`hub.entry_not_found`: no stored entry has this id.'),
        },
      },
    },
    {
      handler: async (req) => {
        const { id } = req.params as { id: string };
        const entry = storeCall(() => deps.store.entry(id));
        if (entry === null)
          throw new HubError('hub.entry_not_found', `no stored entry has the id ${JSON.stringify(id)}`);
        return entry;
      },
    },
  );
}
