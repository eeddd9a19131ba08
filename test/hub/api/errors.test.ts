import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorReply, HUB_ERRORS, HubError } from '../../../src/hub/errors.js';
import { parseQuery, ERROR_CODES as QUERY_ERROR_CODES, QueryError } from '../../../src/query/index.js';
import { ROOT } from '../../support/paths.js';
import { get, testHub } from './fixture.js';

const doc = readFileSync(join(ROOT, 'docs', 'hub-api.md'), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([a-z0-9_.-]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [
    m[1]!,
    { status: Number(m[2]), text: m[3]! },
  ]),
);

test('docs/hub-api.md lists exactly the hub’s codes and the query language’s, with the same status and text', () => {
  assert.deepEqual(
    [...rows.keys()].sort(),
    [...Object.keys(HUB_ERRORS), ...Object.keys(QUERY_ERROR_CODES)].sort(),
  );
  for (const [code, { status, text }] of Object.entries(HUB_ERRORS))
    assert.deepEqual(rows.get(code), { status, text }, code);
  for (const [code, text] of Object.entries(QUERY_ERROR_CODES))
    assert.deepEqual(rows.get(code), { status: 400, text }, code);
});

test('the docs name every route the OpenAPI description has', () => {
  for (const route of [
    '`GET /api/entries`',
    '`GET /api/entries/{id}`',
    '`GET /api/connections`',
    '`GET /api/servicemap`',
    '`GET /api/queries`',
    '`PUT /api/queries/{name}`',
    '`DELETE /api/queries/{name}`',
    '`GET /api/stream`',
    '`GET /api/stream/stats`',
    '`GET /api/openapi.json`',
  ])
    assert.ok(doc.includes(route), route);
});

test('errors become the catalogue’s status and body', () => {
  const hub = errorReply(new HubError('hub.entry_not_found', 'no entry 7'));
  assert.deepEqual(hub, {
    status: 404,
    body: { error: { code: 'hub.entry_not_found', message: 'no entry 7' } },
    internal: false,
  });

  let qe: QueryError | null = null;
  try {
    parseQuery('http and');
  } catch (err) {
    qe = err as QueryError;
  }
  assert.ok(qe instanceof QueryError);
  const q = errorReply(qe);
  assert.equal(q.status, 400);
  assert.equal(q.body.error.code, 'query.syntax');
  assert.deepEqual(q.body.error.span, qe.span);

  // Anything unknown is hub.internal, without its message (it may name files or SQL).
  const internal = errorReply(new Error('SQLITE_CORRUPT: /var/lib/podwire/hub.db'));
  assert.equal(internal.status, 500);
  assert.equal(internal.internal, true);
  assert.equal(internal.body.error.code, 'hub.internal');
  assert.doesNotMatch(internal.body.error.message, /SQLITE|var/);
});

test('a store that fails under a request is 500 hub.internal, logged, without its details', async () => {
  const logged: string[] = [];
  const hub = await testHub({ log: (m) => logged.push(m) }, false);
  try {
    hub.store.db.close(); // the SQLite connection goes away under the store
    const r = await get(hub.app, '/api/entries');
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'hub.internal');
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /GET \/api\/entries/);
  } finally {
    await hub.app.close();
    rmSync(hub.dir, { recursive: true, force: true });
  }
});

test('a body over the app’s limit is 413 hub.body_too_large', async () => {
  const hub = await testHub({}, false);
  try {
    const r = await hub.app.inject({
      method: 'PUT',
      url: '/api/queries/big',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ query: 'x'.repeat(2 << 20) }),
    });
    assert.equal(r.statusCode, 413);
    assert.equal(JSON.parse(r.body).error.code, 'hub.body_too_large');
  } finally {
    await hub.close();
  }
});
