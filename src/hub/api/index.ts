/**
 * The hub's REST and WebSocket API under `/api`, as one encapsulated fastify plugin: its error
 * handler and not-found handler answer in the catalogue's JSON (src/hub/errors.ts) without touching
 * the hub's other routes (k8spacket's, /metrics). Authentication and the listen address are the
 * hub's (src/hub/auth.ts), applied before these routes run.
 *
 * Routes (docs/hub-api.md): entries.ts, connections.ts, servicemap.ts, queries.ts, stream.ts,
 * openapi.ts.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { body, errorReply } from '../errors.js';
import { connectionsRoutes } from './connections.js';
import type { ApiDeps } from './deps.js';
import { entriesRoutes } from './entries.js';
import { openapiRoutes } from './openapi.js';
import { queriesRoutes } from './queries.js';
import { RouteTable } from './routes.js';
import { serviceMapRoutes } from './servicemap.js';
import { streamRoutes } from './stream.js';

export type { ApiDeps, StreamOptions } from './deps.js';

export const API_PREFIX = '/api';

/**
 * Mounts the API on `app` (loaded with the app's other plugins, at `ready()`/`listen()`). Registers
 * @fastify/websocket for the stream unless the app already has it: register it on the app first,
 * or not at all, never after (two would both answer each upgrade).
 */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.register(
    async (api) => {
      if (!api.hasDecorator('websocketServer')) await api.register(fastifyWebsocket);
      const table = new RouteTable(API_PREFIX);
      // Bodies are JSON only: anything else is `hub.unsupported_media_type`, not a string that then
      // fails the schema with a puzzling message.
      api.removeContentTypeParser('text/plain');

      api.setErrorHandler((err, req, reply) => {
        const { status, body: payload, internal } = errorReply(err);
        if (internal) {
          req.log.error({ err }, 'api request failed');
          deps.log?.(`${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
        }
        reply.code(status).send(payload);
      });
      api.setNotFoundHandler((req, reply) => {
        reply
          .code(404)
          .send(body('hub.not_found', `the API has no route ${req.method} ${req.url.split('?')[0]}`));
      });

      entriesRoutes(api, table, deps);
      connectionsRoutes(api, table, deps);
      serviceMapRoutes(api, table, deps);
      queriesRoutes(api, table, deps);
      streamRoutes(api, table, deps);
      openapiRoutes(api, table);
    },
    { prefix: API_PREFIX },
  );
}
