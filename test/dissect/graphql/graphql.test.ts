/**
 * GraphQL over HTTP/1.1: operation type and name from the document (GraphQL spec §2), POST JSON,
 * POST application/graphql, GET query string, batched arrays, errors of the response.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { graphqlRequest } from '../../../src/dissect/graphql/detect.js';
import { documentOperations } from '../../../src/dissect/graphql/document.js';
import { graphqlResults } from '../../../src/dissect/graphql/summary.js';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { bytes, run, type Wire } from '../http1/harness.js';

describe('documentOperations', () => {
  const cases: [string, string | null][] = [
    ['{ hero { name } }', 'query:'],
    ['query { a }', 'query:'],
    ['query Hero($id: ID!, $n: Int = 3) @cached { hero(id: $id) { name } }', 'query:Hero'],
    ['mutation AddReview($r: ReviewInput!) { add(r: $r) { id } }', 'mutation:AddReview'],
    ['subscription OnMsg { msg { text } }', 'subscription:OnMsg'],
    [
      '# a comment with { braces }\nfragment F on Hero { name }\nquery Q { ...F, other: field(arg: "}{ \\" str") }',
      'query:Q',
    ],
    ['query A { a } mutation B { b }', 'query:A,mutation:B'],
    ['query Q { a(s: """block "" } string""") }', 'query:Q'],
    ['type Query { a: Int }', null],
    ['search terms', null],
    ['query', null],
    ['{ unbalanced', null],
    ['', null],
  ];
  for (const [src, want] of cases)
    test(JSON.stringify(src), () => {
      const ops = documentOperations(src);
      assert.equal(ops ? ops.map((o) => `${o.type}:${o.name ?? ''}`).join(',') : null, want);
    });

  test('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        documentOperations(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('graphqlRequest', () => {
  test('POST JSON picks the operation by operationName', () => {
    const body = JSON.stringify({
      query: 'query A { a } mutation B { b }',
      operationName: 'B',
      variables: { x: 1 },
    });
    const r = graphqlRequest('POST', '/graphql', 'application/json', body)!;
    assert.equal(r.transport, 'post-json');
    assert.deepEqual(
      r.operations.map((o) => [o.type, o.name, o.variables]),
      [['mutation', 'B', { x: 1 }]],
    );
  });
  test('GET query string', () => {
    const q = new URLSearchParams({ query: '{ me { id } }', variables: '{"a":2}' });
    const r = graphqlRequest('GET', `/graphql?${q}`, undefined, null)!;
    assert.deepEqual(r.operations[0], {
      type: 'query',
      name: null,
      query: '{ me { id } }',
      variables: { a: 2 },
    });
  });
  test('batched array', () => {
    const body = JSON.stringify([{ query: 'query One { a }' }, { query: 'mutation Two { b }' }]);
    const r = graphqlRequest('POST', '/gql', 'application/json', body)!;
    assert.equal(r.batched, true);
    assert.deepEqual(
      r.operations.map((o) => `${o.type} ${o.name}`),
      ['query One', 'mutation Two'],
    );
  });
  test('application/graphql body', () => {
    const r = graphqlRequest('POST', '/gql', 'application/graphql', 'mutation M { m }')!;
    assert.equal(r.operations[0]!.type, 'mutation');
  });
  test('plain JSON and search queries are not GraphQL', () => {
    assert.equal(graphqlRequest('POST', '/api', 'application/json', '{"query":"shoes"}'), null);
    assert.equal(graphqlRequest('GET', '/search?query=red+shoes', undefined, null), null);
    assert.equal(graphqlRequest('POST', '/graphql', 'application/json', 'not json'), null);
  });
});

describe('graphqlResults', () => {
  test('errors with data, per result of a batch', () => {
    const r = graphqlResults(
      JSON.stringify([{ data: { a: 1 } }, { data: null, errors: [{ message: 'boom', path: ['b'] }] }]),
    )!;
    assert.deepEqual(r, [
      { hasData: true, errors: [] },
      { hasData: false, errors: [{ message: 'boom', path: ['b'] }] },
    ]);
    assert.equal(graphqlResults('{"other":1}'), null);
  });
});

function post(path: string, body: string, ts: number): Wire {
  return {
    dir: 0,
    ts,
    data: bytes(
      `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      body,
    ),
  };
}

function ok(body: string, ts: number): Wire {
  return {
    dir: 1,
    ts,
    data: bytes(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      body,
    ),
  };
}

describe('GraphQL exchanges are graphql entries', () => {
  test('operation type, name, HTTP status, errors in the response', () => {
    const q = new URLSearchParams({ query: 'query Me { me { id } }' });
    const ctx = run(http1Dissector, [
      post(
        '/graphql',
        JSON.stringify({ query: 'mutation Like($id: ID!) { like(id: $id) }', variables: { id: 7 } }),
        1,
      ),
      ok(JSON.stringify({ data: null, errors: [{ message: 'not allowed' }] }), 2),
      { dir: 0, ts: 3, data: bytes(`GET /graphql?${q} HTTP/1.1\r\nHost: h\r\n\r\n`) },
      ok('{"data":{"me":{"id":"1"}}}', 4),
      post('/graphql', JSON.stringify([{ query: '{ a }' }, { query: 'query B { b }' }]), 5),
      ok('[{"data":{"a":1}},{"data":{"b":2}}]', 6),
      post('/rest', '{"query":"not graphql"}', 7),
      ok('{}', 8),
    ]);
    assert.deepEqual(
      ctx.entries.map((e) => `${e.protocol} ${e.method} ${e.path} ${e.status}`),
      ['graphql mutation Like 200', 'graphql query Me 200', 'graphql query B 200', 'http POST /rest 200'],
    );
    const [like, , batch] = ctx.entries;
    assert.deepEqual(like!.response!.errors, [{ message: 'not allowed' }]);
    assert.deepEqual(
      (like!.request.graphql as { operations: { variables: unknown }[] }).operations[0]!.variables,
      { id: 7 },
    );
    assert.equal(like!.request.path, '/graphql');
    assert.equal((batch!.request.graphql as { batched: boolean }).batched, true);
    assert.equal((batch!.response!.graphql as unknown[]).length, 2);
  });
});
