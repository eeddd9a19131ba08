/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 description of every route of the API, built from the
 * route table (routes.ts), so the parameters it lists are the ones fastify validates. Schemas are
 * JSON Schema (OpenAPI 3.1 §4.8.24 takes JSON Schema 2020-12; the routes use the subset draft-07 and
 * 2020-12 read alike).
 */
import type { FastifyInstance } from 'fastify';
import type { ApiRoute, JsonSchema, RouteTable } from './routes.js';
import { ERROR } from './schemas.js';

const VERSION = '0.1.0';

interface Parameter {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** `/entries/:id` -> `/entries/{id}` (OpenAPI path templating, §4.8.8). */
function openapiPath(prefix: string, url: string): string {
  return prefix + url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(where: 'query' | 'path', schema: JsonSchema | undefined): Parameter[] {
  if (!schema) return [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function operation(route: ApiRoute): Record<string, unknown> {
  const { doc, schema } = route;
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses))
    responses[status] = {
      description: r.description,
      ...(r.schema ? { content: { 'application/json': { schema: r.schema } } } : {}),
    };
  // Every route can answer these (docs/hub-api.md, "Errors").
  responses.default = {
    description: 'An error: see docs/hub-api.md for the codes.',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  const params = [...parameters('path', schema.params), ...parameters('query', schema.querystring)];
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description,
    tags: doc.tags,
    ...(params.length ? { parameters: params } : {}),
    ...(schema.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the routes in `table`. */
export function openapiDocument(table: RouteTable): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of table.routes) {
    const path = openapiPath(table.prefix, route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'podwire hub API',
      version: VERSION,
      description:
        'Stored and live entries, connections, the service map and saved queries of a podwire hub. ' +
        'Times are epoch milliseconds or RFC 3339 in parameters, microseconds since the epoch in records. ' +
        'Off loopback every route needs `Authorization: Bearer <token>`.',
    },
    servers: [{ url: '/' }],
    components: {
      schemas: { Error: ERROR },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{}, { bearer: [] }],
    paths,
  };
}

export function openapiRoutes(api: FastifyInstance, table: RouteTable): void {
  let cached: Record<string, unknown> | null = null;
  table.add(
    api,
    {
      method: 'GET',
      url: '/openapi.json',
      schema: {},
      doc: {
        operationId: 'getOpenApi',
        summary: 'This description',
        description: 'The OpenAPI 3.1 description of every route of the API.',
        tags: ['meta'],
        responses: { '200': { description: 'An OpenAPI 3.1 document.', schema: { type: 'object' } } },
      },
    },
    {
      // Built on first use: by then every route is in the table.
      handler: async () => {
        cached ??= openapiDocument(table);
        return cached;
      },
    },
  );
}
