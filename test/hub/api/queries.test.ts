/** Saved queries: the round trip through the API and the store, and what is refused. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { get, type Json, type TestHub, testHub } from './fixture.js';

let hub: TestHub;
before(async () => {
  hub = await testHub();
});
after(async () => {
  await hub.close();
});

async function put(name: string, payload: unknown, headers?: Record<string, string>) {
  const r = await hub.app.inject({
    method: 'PUT',
    url: `/api/queries/${encodeURIComponent(name)}`,
    payload: payload as string,
    ...(headers ? { headers } : {}),
  });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : null };
}

test('save, list, replace, run and delete a query', async () => {
  assert.deepEqual((await get(hub.app, '/api/queries')).body, { queries: [] });

  const before = Date.now();
  const created = await put('redis-gets', { query: 'redis and method == "GET"' });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'redis-gets');
  assert.equal(created.body.query, 'redis and method == "GET"');
  const savedAt = Date.parse(created.body.savedAt);
  assert.ok(savedAt >= before - 1000 && savedAt <= Date.now() + 1000, created.body.savedAt);

  const other = await put('dns.all', { query: 'dns' });
  assert.equal(other.status, 201);
  const list = await get(hub.app, '/api/queries');
  assert.deepEqual(
    list.body.queries.map((q: Json) => [q.name, q.query]),
    [
      ['dns.all', 'dns'],
      ['redis-gets', 'redis and method == "GET"'],
    ],
  );

  const replaced = await put('redis-gets', { query: 'redis && method == "SET"' });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.query, 'redis && method == "SET"');

  // The saved text runs as a filter, and selects what it says.
  const q = (await get(hub.app, '/api/queries')).body.queries.find(
    (x: Json) => x.name === 'redis-gets',
  ).query;
  const page = await get(hub.app, `/api/entries?limit=1000&q=${encodeURIComponent(q)}`);
  const expected = hub.records.entries.filter((e) => e.protocol === 'redis' && e.method === 'SET').length;
  assert.ok(expected > 0);
  assert.equal(page.body.entries.length, expected);

  const del = await hub.app.inject({ method: 'DELETE', url: '/api/queries/redis-gets' });
  assert.equal(del.statusCode, 204);
  assert.equal(del.body, '');
  const again = await hub.app.inject({ method: 'DELETE', url: '/api/queries/redis-gets' });
  assert.equal(again.statusCode, 404);
  assert.equal(JSON.parse(again.body).error.code, 'hub.saved_query_not_found');
  assert.deepEqual(
    (await get(hub.app, '/api/queries')).body.queries.map((x: Json) => x.name),
    ['dns.all'],
  );
});

test('a query that does not parse is refused with its span, and nothing is saved', async () => {
  const text = 'http and respnse.status >= 500';
  const r = await put('broken', { query: text });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'query.unknown-field');
  assert.equal(text.slice(r.body.error.span.start, r.body.error.span.end).startsWith('respnse'), true);
  assert.ok(!(await get(hub.app, '/api/queries')).body.queries.some((q: Json) => q.name === 'broken'));
});

test('bad names and bodies', async () => {
  const cases: [string, unknown, Record<string, string> | undefined, number, string][] = [
    ['has space', { query: 'http' }, undefined, 400, 'hub.bad_parameter'],
    ['-leading-dash', { query: 'http' }, undefined, 400, 'hub.bad_parameter'],
    ['x'.repeat(65), { query: 'http' }, undefined, 400, 'hub.bad_parameter'],
    ['ok', {}, undefined, 400, 'hub.bad_parameter'],
    ['ok', { query: '' }, undefined, 400, 'hub.bad_parameter'],
    ['ok', { query: 42 }, undefined, 400, 'hub.bad_parameter'],
    ['ok', '{"query": ', { 'content-type': 'application/json' }, 400, 'hub.bad_json'],
    [
      'ok',
      'query=http',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'hub.unsupported_media_type',
    ],
    ['ok', 'http', { 'content-type': 'text/plain' }, 415, 'hub.unsupported_media_type'],
  ];
  for (const [name, payload, headers, status, code] of cases) {
    const r = await put(name, payload, headers);
    assert.equal(r.status, status, `${name} ${JSON.stringify(payload)}`);
    assert.equal(r.body.error.code, code, `${name} ${JSON.stringify(payload)}`);
  }
});
