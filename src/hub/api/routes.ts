/**
 * How the API's routes are declared: each with its fastify JSON schema (what fastify validates) and
 * its documentation (what /api/openapi.json says), in one object, so the description cannot leave a
 * route out or describe parameters the route does not check. openapi.ts builds the document from
 * this table.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

/** A JSON Schema object, in the subset both fastify's ajv (draft-07) and OpenAPI 3.1 read alike. */
export type JsonSchema = Record<string, unknown>;

export interface ResponseDoc {
  description: string;
  /** The body's schema (JSON), documentation only: fastify does not serialize with it. */
  schema?: JsonSchema;
}

export interface RouteDoc {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  /** By status code. Error statuses point at the shared error body. */
  responses: Record<string, ResponseDoc>;
}

export interface RouteSchema {
  querystring?: JsonSchema;
  params?: JsonSchema;
  body?: JsonSchema;
}

export interface ApiRoute {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Under the API's prefix, fastify style (`/entries/:id`). */
  url: string;
  schema: RouteSchema;
  doc: RouteDoc;
}

/** The routes of the API, in the order they were declared. */
export class RouteTable {
  readonly routes: ApiRoute[] = [];

  constructor(
    /** The prefix the routes are mounted under (`/api`). */
    readonly prefix: string,
  ) {}

  /**
   * Declares `route` on `api` and records it. `extra` carries the handler (and, for a WebSocket,
   * `wsHandler`); the schema and method come from `route`.
   */
  add(
    api: FastifyInstance,
    route: ApiRoute,
    extra: Pick<RouteOptions, 'handler' | 'wsHandler' | 'preValidation'>,
  ): void {
    this.routes.push(route);
    api.route({ method: route.method, url: route.url, schema: route.schema, ...extra } as RouteOptions);
  }
}
