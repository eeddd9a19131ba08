/**
 * /api/openapi.json describes every route the API mounts, and what the routes really answer fits
 * the response schemas it documents (checked with ajv through fastify, strictly: no type coercion,
 * nothing removed).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApiRoutes } from '../../../src/hub/api/index.js';
import { LiveFeed } from '../../../src/hub/live.js';
import { get, type Json, type TestHub, testHub } from './fixture.js';

let hub: TestHub;
let doc: Json;
before(async () => {
  hub = await testHub();
  const r = await get(hub.app, '/api/openapi.json');
  assert.equal(r.status, 200);
  doc = r.body;
});
after(async () => {
  await hub.close();
});

test('an OpenAPI 3.1 document with every route fastify mounts under /api, and nothing else', async () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.title, 'string');
  const mounted: string[] = [];
  const app = Fastify({ logger: false });
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat())
      if (m !== 'HEAD') mounted.push(`${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  });
  registerApiRoutes(app, { store: hub.store, live: new LiveFeed() });
  await app.ready();
  await app.close();
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.deepEqual(documented.sort(), mounted.filter((r) => r.includes(' /api/')).sort());
  for (const expected of [
    'GET /api/entries',
    'GET /api/entries/{id}',
    'GET /api/connections',
    'GET /api/servicemap',
    'GET /api/queries',
    'PUT /api/queries/{name}',
    'DELETE /api/queries/{name}',
    'GET /api/stream',
    'GET /api/openapi.json',
  ])
    assert.ok(documented.includes(expected), expected);
});

test('operations are complete: unique ids, path parameters declared, responses described', () => {
  const ids = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(!ids.has(op.operationId), op.operationId);
      ids.add(op.operationId);
      assert.ok(op.summary && op.description, `${method} ${path}`);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
      assert.deepEqual(declared.sort(), inPath.sort(), `${method} ${path}`);
      for (const p of op.parameters ?? []) if (p.in === 'path') assert.equal(p.required, true);
      assert.ok(
        Object.keys(op.responses).some((s) => /^[123]\d\d$/.test(s)),
        `${method} ${path} success`,
      );
      assert.ok(op.responses.default, `${method} ${path} default`);
    }
  }
  assert.ok(doc.components.schemas.Error);
});

/** A fastify app whose routes each validate a body against one documented schema, strictly. */
async function validator(schemas: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  for (const [name, schema] of Object.entries(schemas))
    app.post(`/${encodeURIComponent(name)}`, { schema: { body: schema as object } }, async () => 'ok');
  await app.ready();
  return app;
}

function responseSchema(path: string, method: string, status: number): unknown {
  const r = doc.paths[path][method].responses[String(status)];
  assert.ok(r, `${method} ${path} documents ${status}`);
  return r.content?.['application/json']?.schema;
}

test('real answers fit the documented response schemas', async () => {
  await hub.app.inject({ method: 'PUT', url: '/api/queries/slow', payload: { query: 'elapsedMs > 100' } });
  const firstId = (await get(hub.app, '/api/entries?limit=1')).body.entries[0].id;
  const calls: [string, string, string, number, unknown][] = [];
  const call = async (method: string, url: string, path: string, payload?: unknown) => {
    const r = await hub.app.inject({
      method: method as 'GET',
      url,
      ...(payload ? { payload: payload as string } : {}),
    });
    calls.push([method.toLowerCase(), path, url, r.statusCode, r.body ? JSON.parse(r.body) : null]);
  };
  await call('GET', '/api/entries?limit=1000', '/api/entries');
  await call('GET', '/api/entries?q=nope', '/api/entries');
  await call('GET', `/api/entries/${firstId}`, '/api/entries/{id}');
  await call('GET', '/api/entries/424242', '/api/entries/{id}');
  await call('GET', '/api/connections?limit=1000', '/api/connections');
  await call('GET', '/api/servicemap', '/api/servicemap');
  await call('GET', '/api/queries', '/api/queries');
  await call('PUT', '/api/queries/new-one', '/api/queries/{name}', { query: 'dns' });
  await call('PUT', '/api/queries/new-one', '/api/queries/{name}', { query: 'http' });
  await call('PUT', '/api/queries/new-one', '/api/queries/{name}', { query: 'http and' });
  await call('DELETE', '/api/queries/never-saved', '/api/queries/{name}');
  await call('GET', '/api/stream', '/api/stream');
  await call('GET', '/api/stream/stats', '/api/stream/stats');
  const statuses = calls.map((c) => c[3]);
  assert.deepEqual(statuses, [200, 400, 200, 404, 200, 200, 200, 201, 200, 400, 404, 426, 200]);

  const schemas: Record<string, unknown> = {};
  calls.forEach(([method, path, , status], i) => {
    schemas[String(i)] = responseSchema(path, method, status);
  });
  const v = await validator(schemas);
  try {
    for (const [i, [method, , url, status, body]] of calls.entries()) {
      const r = await v.inject({ method: 'POST', url: `/${i}`, payload: body as object });
      assert.equal(r.statusCode, 200, `${method} ${url} (${status}): ${r.body}`);
    }
  } finally {
    await v.close();
  }
});

test('the documented schemas reject what they should (the check above can fail)', async () => {
  const v = await validator({
    page: responseSchema('/api/entries', 'get', 200),
    error: responseSchema('/api/entries', 'get', 400),
  });
  try {
    const bad = [
      ['page', { entries: [{ id: 1 }], cursor: null }],
      ['page', { entries: [], cursor: 5 }],
      ['error', { error: { code: 'x' } }],
      ['error', { message: 'no envelope' }],
    ] as const;
    for (const [name, body] of bad) {
      const r = await v.inject({ method: 'POST', url: `/${name}`, payload: body });
      assert.equal(r.statusCode, 400, `${name} ${JSON.stringify(body)}`);
    }
  } finally {
    await v.close();
  }
});
