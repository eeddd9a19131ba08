/**
 * Saved queries: named filters a team shares (the UI's saved views). A query is checked with the
 * same parser and both compilers the API and the stream use before it is saved, so a saved query
 * always runs.
 */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { type ApiDeps, checkQuery } from './deps.js';
import type { RouteTable } from './routes.js';
import { errorResponse, MAX_QUERY_LENGTH, QUERY_NAME, SAVED_QUERY } from './schemas.js';
import { storeCall } from './store-call.js';

const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: QUERY_NAME } };

interface SavedQuery {
  name: string;
  query: string;
  savedAt: string;
}

function saved(deps: ApiDeps): SavedQuery[] {
  return storeCall(() => deps.store.savedQueries()).map((s) => ({
    name: s.name,
    query: s.text,
    savedAt: new Date(s.savedAt).toISOString(),
  }));
}

export function queriesRoutes(api: FastifyInstance, table: RouteTable, deps: ApiDeps): void {
  table.add(
    api,
    {
      method: 'GET',
      url: '/queries',
      schema: {},
      doc: {
        operationId: 'listQueries',
        summary: 'The saved queries',
        description: 'Every saved query, by name.',
        tags: ['queries'],
        responses: {
          '200': {
            description: 'The saved queries.',
            schema: {
              type: 'object',
              required: ['queries'],
              properties: { queries: { type: 'array', items: SAVED_QUERY } },
            },
          },
        },
      },
    },
    { handler: async () => ({ queries: saved(deps) }) },
  );

  table.add(
    api,
    {
      method: 'PUT',
      url: '/queries/:name',
      schema: {
        params: NAME_PARAMS,
        body: {
          type: 'object',
          required: ['query'],
          // The store keeps saved texts up to 10,000 characters (src/store/index.ts).
          properties: {
            query: { type: 'string', minLength: 1, maxLength: Math.min(MAX_QUERY_LENGTH, 10_000) },
          },
        },
      },
      doc: {
        operationId: 'saveQuery',
        summary: 'Save a query under a name',
        description:
          'Creates or replaces the saved query `name`. The query is parsed and compiled first: one that would not run ' +
          'is refused with its error (code, message, `span`, `hint`) and nothing is saved.',
        tags: ['queries'],
        responses: {
          '200': { description: 'Replaced an older query of that name.', schema: SAVED_QUERY },
          '201': { description: 'Saved under a new name.', schema: SAVED_QUERY },
          '400': errorResponse('A bad name or body, or a query that does not parse or compile.'),
        },
      },
    },
    {
      // Fastify's validator turns 42 into "42" for a string property (ajv's coerceTypes, right for
      // query strings); a body says what it means, so a non-string query is refused before that.
      preValidation: async (req) => {
        const b = req.body as { query?: unknown } | null;
        if (b !== null && typeof b === 'object' && 'query' in b && typeof b.query !== 'string')
          throw new HubError('hub.bad_parameter', 'body `query`: must be a string');
      },
      handler: async (req, reply) => {
        const { name } = req.params as { name: string };
        const { query } = req.body as { query: string };
        checkQuery(deps, query);
        const existed = saved(deps).some((s) => s.name === name);
        storeCall(() => deps.store.saveQuery(name, query));
        const row = saved(deps).find((s) => s.name === name);
        reply.code(existed ? 200 : 201);
        return row ?? { name, query, savedAt: new Date().toISOString() };
      },
    },
  );

  table.add(
    api,
    {
      method: 'DELETE',
      url: '/queries/:name',
      schema: { params: NAME_PARAMS },
      doc: {
        operationId: 'deleteQuery',
        summary: 'Delete a saved query',
        description: 'Removes the saved query `name`.',
        tags: ['queries'],
        responses: {
          '204': { description: 'Deleted.' },
          '404': errorResponse('`hub.saved_query_not_found`: no saved query has this name.'),
        },
      },
    },
    {
      handler: async (req, reply) => {
        const { name } = req.params as { name: string };
        if (!storeCall(() => deps.store.deleteQuery(name)))
          throw new HubError('hub.saved_query_not_found', `no saved query is named ${JSON.stringify(name)}`);
        return reply.code(204).send();
      },
    },
  );
}
